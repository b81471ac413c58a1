//! Disks and partitions: `dd of=/dev/…`, `mkfs`, partition editors, `wipefs`.

use std::sync::LazyLock;

use super::super::cx::Cx;
use super::super::ir::Word;
use super::table::{Arm, ArmIndex, always, first_arm, index_arms};
use super::{Inv, any_of, flag, has_long, has_short, operands};

rules! {
    WRITE_DEVICE = ("disk.write_device", Catastrophic, "Writes directly to a disk or partition device, destroying its data. Write to an image file instead.");
    MKFS = ("disk.mkfs", Catastrophic, "Creates a new file system, erasing the device. Make it in an image file (`mkfs.ext4 disk.img`) to test.");
    PARTITION = ("disk.partition", Catastrophic, "Edits a disk's partition table, which can make every partition unreadable. List it with `-l` first.");
    WIPE = ("disk.wipe", Catastrophic, "Erases file-system signatures or the whole device; its data becomes unreadable. Check the device name with `lsblk` first and let a human run it.");
    VOLUME_REMOVE = ("disk.volume_remove", Catastrophic, "Removes a storage pool or logical volume and its data. Back the volume up first and let a human remove it.");
    DISK_TOOL = ("disk.tool", Ambiguous, "Runs a low-level disk tool that can damage file systems.");
}

/// Disk image file names: a file system made inside one erases nothing else.
const IMAGE_EXTENSIONS: &[&str] = &[".img", ".iso", ".raw", ".bin", ".qcow2", ".vhd", ".vhdx", ".dmg", ".image", ".fs"];

/// `mkfs.ext4 disk.img`: the target is an image file, no operand is a device or unknown.
fn image_only(args: &[Word<'_>]) -> bool {
    let mut ops = operands(args).peekable();
    ops.peek().is_some()
        && operands(args).all(|w| !w.dynamic && !w.as_str().starts_with("/dev"))
        && ops.any(|w| IMAGE_EXTENSIONS.iter().any(|e| w.as_str().ends_with(e)))
}

/// Every disk tool's verdict, over its flags and operands (first arm wins). `mkfs.*` and
/// `mke2fs*` read as `mkfs`.
const ARMS: &[Arm] = &[
    Arm {
        on: &["mkfs", "mkswap", "newfs", "format"],
        path: &[],
        when: |a, _| !any_of(a, &["-V", "--version", "-h", "--help", "-n"]) && !image_only(a),
        rule: &MKFS,
    },
    Arm { on: &["sfdisk"], path: &[], when: |a, _| !partition_listing(a) && !has_short(a, 'd'), rule: &PARTITION },
    Arm { on: &["sgdisk"], path: &[], when: |a, _| !partition_listing(a) && !has_short(a, 'p'), rule: &PARTITION },
    Arm {
        on: &["fdisk", "gdisk", "cgdisk", "cfdisk"],
        path: &[],
        when: |a, _| !partition_listing(a),
        rule: &PARTITION,
    },
    Arm { on: &["parted"], path: &[], when: |a, o| !parted_reads(a, o), rule: &PARTITION },
    Arm { on: &["wipefs"], path: &[], when: |a, _| flag(a, 'a', "--all") || flag(a, 'o', "--offset"), rule: &WIPE },
    Arm { on: &["blkdiscard"], path: &[], when: always, rule: &WIPE },
    Arm { on: &["badblocks"], path: &[], when: |a, _| has_short(a, 'w'), rule: &WIPE },
    Arm {
        on: &["hdparm"],
        path: &[],
        when: |a, _| {
            a.iter().any(|a| {
                let t = a.as_str();
                t.starts_with("--security-erase") || t == "--trim-sector-ranges" || t == "--write-sector"
            })
        },
        rule: &WIPE,
    },
    Arm { on: &["diskutil"], path: &[], when: |_, o| o.first().is_some_and(|v| diskutil_erases(v)), rule: &WIPE },
    Arm { on: &["zpool"], path: &["destroy|labelclear"], when: always, rule: &VOLUME_REMOVE },
    Arm { on: &["lvremove", "vgremove", "pvremove"], path: &[], when: always, rule: &VOLUME_REMOVE },
    Arm {
        on: &["cryptsetup"],
        path: &["luksFormat|erase|luksErase|reencrypt|luksKillSlot"],
        when: always,
        rule: &WIPE,
    },
    Arm {
        on: &["cryptsetup"],
        path: &[],
        when: |_, o| !matches!(o.first().copied().unwrap_or(""), "status" | "luksDump" | "isLuks" | ""),
        rule: &DISK_TOOL,
    },
];

static INDEX: LazyLock<ArmIndex> = LazyLock::new(|| index_arms(ARMS));

/// A partition editor asked to list, dump, verify or show its version.
fn partition_listing(args: &[Word<'_>]) -> bool {
    flag(args, 'l', "--list")
        || has_long(args, "--dump")
        || any_of(args, &["-s", "--show-size", "-V", "--verify", "--version", "-h", "--help", "-v"])
}

/// `parted -l`, `parted DEV print …`, `parted --version`.
fn parted_reads(args: &[Word<'_>], ops: &[&str]) -> bool {
    flag(args, 'l', "--list")
        || (ops.len() >= 2
            && ops[1..]
                .iter()
                .all(|o| matches!(*o, "print" | "p" | "unit" | "s" | "B" | "MB" | "GB" | "free" | "list")))
        || ops.is_empty() && any_of(args, &["-v", "--version", "-h", "--help"])
}

/// `diskutil eraseDisk|partitionDisk|apfs deleteContainer|…` (any case).
fn diskutil_erases(verb: &str) -> bool {
    let verb = verb.to_ascii_lowercase();
    matches!(
        verb.as_str(),
        "erasedisk"
            | "erasevolume"
            | "partitiondisk"
            | "secureerase"
            | "zerodisk"
            | "randomdisk"
            | "reformat"
            | "splitpartition"
            | "mergepartitions"
            | "deletevolume"
    ) || verb.starts_with("apfs") && (verb.contains("delete") || verb.contains("erase"))
}

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let args = &argv[1..];
    let key = if name.starts_with("mkfs") || name.starts_with("mke2fs") { "mkfs" } else { name };
    let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
    if let Some(r) = first_arm(&INDEX, key, args, &ops) {
        cx.hit(r, argv[0].span.start..argv[argv.len() - 1].span.end);
    }
}

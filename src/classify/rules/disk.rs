//! Disks and partitions: `dd of=/dev/…`, `mkfs`, partition editors, `wipefs`.

use super::super::cx::Cx;
use super::super::ir::Word;
use super::{Inv, flag, has_long, has_short, operands};

rules! {
    WRITE_DEVICE = ("disk.write_device", Catastrophic, "Writes directly to a disk or partition device, destroying its data. Write to an image file instead.");
    MKFS = ("disk.mkfs", Catastrophic, "Creates a new file system, erasing the device. Make it in an image file (`mkfs.ext4 disk.img`) to test.");
    PARTITION = ("disk.partition", Catastrophic, "Edits a disk's partition table, which can make every partition unreadable. List it with `-l` first.");
    WIPE = ("disk.wipe", Catastrophic, "Erases file-system signatures or the whole device; its data becomes unreadable.");
    VOLUME_REMOVE = ("disk.volume_remove", Catastrophic, "Removes a storage pool or logical volume and its data.");
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

pub(crate) fn check(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], _inv: &Inv<'_>) {
    let args = &argv[1..];
    let span = argv[0].span.start..argv[argv.len() - 1].span.end;
    let listing = |cx: &mut Cx<'_>, ro: bool, r: &'static super::super::Rule| {
        if !ro {
            cx.hit(r, span.clone());
        }
    };
    match name {
        n if n.starts_with("mkfs") || n.starts_with("mke2fs") || n == "mkswap" || n == "newfs" || n == "format" => {
            let ro = args.iter().any(|a| matches!(a.as_str(), "-V" | "--version" | "-h" | "--help" | "-n"));
            listing(cx, ro || image_only(args), &MKFS)
        }
        "fdisk" | "sfdisk" | "gdisk" | "cgdisk" | "cfdisk" | "sgdisk" => {
            let ro = flag(args, 'l', "--list")
                || has_long(args, "--dump")
                || has_short(args, 'd') && name == "sfdisk"
                || has_short(args, 'p') && name == "sgdisk"
                || args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-s" | "--show-size" | "-V" | "--verify" | "--version" | "-h" | "--help" | "-v"
                    )
                });
            listing(cx, ro, &PARTITION)
        }
        "parted" => {
            let ops: Vec<&str> = operands(args).map(|w| w.as_str()).collect();
            let ro = flag(args, 'l', "--list")
                || (ops.len() >= 2
                    && ops[1..]
                        .iter()
                        .all(|o| matches!(*o, "print" | "p" | "unit" | "s" | "B" | "MB" | "GB" | "free" | "list")))
                || ops.is_empty() && args.iter().any(|a| matches!(a.as_str(), "-v" | "--version" | "-h" | "--help"));
            listing(cx, ro, &PARTITION)
        }
        "wipefs" => {
            let destructive = flag(args, 'a', "--all")
                || flag(args, 'o', "--offset")
                || has_short(args, 't') && flag(args, 'a', "--all");
            listing(cx, !destructive, &WIPE)
        }
        "blkdiscard" => listing(cx, false, &WIPE),
        "badblocks" => listing(cx, !(has_short(args, 'w')), &WIPE),
        "hdparm" => {
            let d = args.iter().any(|a| {
                a.as_str().starts_with("--security-erase")
                    || a.as_str() == "--trim-sector-ranges"
                    || a.as_str() == "--write-sector"
            });
            listing(cx, !d, &WIPE)
        }
        "diskutil" => {
            let verb = operands(args).next().map(|w| w.as_str().to_ascii_lowercase()).unwrap_or_default();
            if matches!(
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
            {
                cx.hit(&WIPE, span);
            }
        }
        "zpool" | "lvremove" | "vgremove" | "pvremove" => {
            let verb = operands(args).next().map(|w| w.as_str()).unwrap_or("");
            if name != "zpool" || matches!(verb, "destroy" | "labelclear") {
                cx.hit(&VOLUME_REMOVE, span);
            }
        }
        "cryptsetup" => {
            let verb = operands(args).next().map(|w| w.as_str()).unwrap_or("");
            if matches!(verb, "luksFormat" | "erase" | "luksErase" | "reencrypt" | "luksKillSlot") {
                cx.hit(&WIPE, span);
            } else if !matches!(verb, "status" | "luksDump" | "isLuks" | "") {
                cx.hit(&DISK_TOOL, span);
            }
        }
        _ => {}
    }
}

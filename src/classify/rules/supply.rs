//! Supply chain and publishing: releasing packages and images to the world,
//! installing code from unvetted sources, removing system packages.

use super::super::cx::Cx;
use super::super::ir::Word;
use super::table::{Handler, Row, When};
use super::{Inv, operands};

rules! {
    PUBLISH = ("supply.publish", Ambiguous, "Publishes a package, image or release to a registry where others install it; it cannot be fully taken back. Run it with `--dry-run` first and let a human publish.");
    REGISTRY_CHANGE = ("supply.registry_change", Ambiguous, "Withdraws, deprecates or retags a published package that others depend on.");
    UNVETTED_INSTALL = ("supply.unvetted_install", Ambiguous, "Installs code from a git URL, a tarball or a non-default index, bypassing the registry's checks. Pin a released version from the default registry instead.");
    REGISTRY_CONFIG = ("supply.registry_config", Ambiguous, "Points the package manager at another registry for every later install. Pass `--registry` to the one command instead.");
    PACKAGE_REMOVE = ("supply.package_remove", Ambiguous, "Removes system packages, which can break the machine (libc, systemd, ssh). Check what else it removes with a simulation first (`apt-get -s remove`).");
    SYSTEM_PIP = ("supply.system_pip", Ambiguous, "Installs Python packages as root into the system interpreter, where they can break system tools. Use a virtual environment.");
}

const DRY: &[&str] = &["--dry-run", "--dryrun", "-n", "--simulate", "-s"];

fn not_dry(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    !args.iter().take_while(|a| a.as_str() != "--").any(|a| DRY.contains(&a.as_str()))
}

/// An operand naming code outside a registry: a URL, a git remote, a tarball path.
fn unvetted(t: &str) -> bool {
    t.starts_with("git+")
        || t.starts_with("http://")
        || t.starts_with("https://")
        || t.starts_with("github:")
        || t.starts_with("gitlab:")
        || t.starts_with("bitbucket:")
        || t.starts_with("git@")
        || t.starts_with("git://")
}

fn unvetted_source(args: &[Word<'_>], _: &Inv<'_>) -> bool {
    args.iter().take_while(|a| a.as_str() != "--").any(|a| {
        let t = a.as_str();
        unvetted(t)
            || ["--index-url", "--extra-index-url", "-i", "--git", "--registry", "--find-links", "-f"]
                .iter()
                .any(|o| super::table::is_flag(t, o))
    })
}

pub(crate) const ROWS: &[Row] = &[
    Row { progs: &["npm", "pnpm", "bun"], path: &["publish"], when: When::Test(not_dry), rule: &PUBLISH },
    Row { progs: &["yarn"], path: &["publish"], when: When::Test(not_dry), rule: &PUBLISH },
    Row { progs: &["yarn"], path: &["npm", "publish"], when: When::Test(not_dry), rule: &PUBLISH },
    Row { progs: &["cargo"], path: &["publish"], when: When::Test(not_dry), rule: &PUBLISH },
    Row { progs: &["twine"], path: &["upload"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["python"], path: &[], when: When::All(&["twine", "upload"]), rule: &PUBLISH },
    Row { progs: &["gem"], path: &["push"], when: When::Always, rule: &PUBLISH },
    Row {
        progs: &["poetry", "uv", "flit", "hatch", "pdm"],
        path: &["publish"],
        when: When::Test(not_dry),
        rule: &PUBLISH,
    },
    Row { progs: &["mvn", "mvnw"], path: &["deploy"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["gradle", "gradlew"], path: &["publish"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["dotnet"], path: &["nuget", "push"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["docker", "podman", "nerdctl"], path: &["push"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["docker", "podman"], path: &["image", "push"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["helm"], path: &["push"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["gh"], path: &["release", "create|upload|edit"], when: When::Always, rule: &PUBLISH },
    Row { progs: &["npm", "pnpm", "yarn"], path: &["unpublish|deprecate"], when: When::Always, rule: &REGISTRY_CHANGE },
    Row { progs: &["npm", "pnpm"], path: &["dist-tag", "add|rm"], when: When::Always, rule: &REGISTRY_CHANGE },
    Row { progs: &["npm", "pnpm", "gem", "cargo"], path: &["owner"], when: When::Always, rule: &REGISTRY_CHANGE },
    Row { progs: &["cargo", "gem"], path: &["yank"], when: When::Always, rule: &REGISTRY_CHANGE },
    Row { progs: &["pip", "pip3"], path: &["install"], when: When::Test(unvetted_source), rule: &UNVETTED_INSTALL },
    Row { progs: &["uv"], path: &["pip", "install"], when: When::Test(unvetted_source), rule: &UNVETTED_INSTALL },
    Row { progs: &["cargo"], path: &["install"], when: When::Test(unvetted_source), rule: &UNVETTED_INSTALL },
    Row {
        progs: &["npm", "pnpm", "yarn", "bun"],
        path: &["install|i|add"],
        when: When::Test(unvetted_source),
        rule: &UNVETTED_INSTALL,
    },
    Row {
        progs: &["npm", "pnpm", "yarn"],
        path: &["config", "set"],
        when: When::Contains(&["registry"]),
        rule: &REGISTRY_CONFIG,
    },
    Row {
        progs: &["pip", "pip3"],
        path: &["config", "set"],
        when: When::Contains(&["index-url", "find-links"]),
        rule: &REGISTRY_CONFIG,
    },
    Row {
        progs: &["apt", "apt-get", "aptitude"],
        path: &["remove|purge|autoremove"],
        when: When::Test(not_dry),
        rule: &PACKAGE_REMOVE,
    },
    Row {
        progs: &["yum", "dnf", "zypper"],
        path: &["remove|erase|autoremove|rm"],
        when: When::Always,
        rule: &PACKAGE_REMOVE,
    },
    Row { progs: &["apk"], path: &["del"], when: When::Always, rule: &PACKAGE_REMOVE },
    Row { progs: &["brew"], path: &["uninstall|remove|rm"], when: When::Always, rule: &PACKAGE_REMOVE },
    Row { progs: &["snap"], path: &["remove"], when: When::Always, rule: &PACKAGE_REMOVE },
    Row { progs: &["rpm"], path: &[], when: When::Flag(&["-e", "--erase"]), rule: &PACKAGE_REMOVE },
    Row { progs: &["dpkg"], path: &[], when: When::Flag(&["-r", "-P", "--remove", "--purge"]), rule: &PACKAGE_REMOVE },
];

/// `pacman -R…` (clusters) and `sudo pip install`.
fn pacman_or_pip(cx: &mut Cx<'_>, name: &str, argv: &[Word<'_>], inv: &Inv<'_>) {
    let whole = argv[0].span.start..argv[argv.len() - 1].span.end;
    let args = &argv[1..];
    if name == "pacman" && args.iter().any(|a| a.as_str().starts_with("-R") || a.as_str() == "--remove") {
        cx.hit(&PACKAGE_REMOVE, whole);
    } else if matches!(name, "pip" | "pip3")
        && inv.sudo
        && operands(args).next().is_some_and(|w| w.as_str() == "install")
        && !args.iter().any(|a| a.as_str() == "--user")
    {
        cx.hit(&SYSTEM_PIP, whole);
    }
}

pub(crate) const HANDLERS: &[(&[&str], Handler)] = &[(&["pacman", "pip", "pip3"], pacman_or_pip)];

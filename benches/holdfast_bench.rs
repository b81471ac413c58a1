//! `make bench`: every figure of DESIGN §9 as a ratio to a raw baseline measured in the same run.

#[cfg(unix)]
mod bench_hook;
#[cfg(unix)]
mod bench_ping;
mod report;
#[cfg(unix)]
mod rig;

#[cfg(unix)]
fn main() {
    let mut rows = Vec::new();
    {
        let rig = rig::Rig::start(&[]);
        rows.extend(bench_ping::rows(&rig));
        rows.extend(bench_hook::rows(&rig));
    }
    report::publish(&rows);
}

#[cfg(not(unix))]
fn main() {
    eprintln!("the benches compare against raw Unix sockets; run them on Unix");
}

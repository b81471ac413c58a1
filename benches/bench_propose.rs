//! `propose` round trips of a safe command through the daemon with an in-process client:
//! `batch` against raw UDS ping-pong of the same bytes, `always` against a raw 200-byte
//! append + fdatasync on the same filesystem, each sampled in blocks alternating with its baseline.

use holdfast::wire::{Proposal, Request, RequestBody};

use crate::bench_audit::{Baseline, Compared, against};
use crate::report::{Row, latency_row, reported_row};
use crate::rig::Rig;

const ROUNDS_ALWAYS: usize = 1_500;
const ROUNDS_BATCH: usize = 5_000;

fn propose_frame(rig: &Rig) -> Vec<u8> {
    let p = Proposal {
        agent: "claude-code".into(),
        cwd: rig.dir().to_string_lossy().into_owned(),
        raw: "cargo test --workspace".into(),
        session: Some("bench".into()),
        ..Default::default()
    };
    Request::new(RequestBody::Propose(p)).to_frame()
}

fn propose_against(rig: &Rig, rounds: usize, baseline: Baseline) -> Compared {
    against(rig, &propose_frame(rig), br#"{"v":1,"kind":"verdict","decision":"allow""#, rounds, baseline)
}

pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    {
        let rig = Rig::start(&["--durability", "batch"]);
        let Compared { daemon: samples, base, .. } = propose_against(&rig, ROUNDS_BATCH, Baseline::RawUds);
        rows.push(latency_row("propose_batch", &samples, "raw_uds", &base, "p50 <= 2x raw", |_, _, r| r <= 2.0));
    }
    {
        let rig = Rig::start(&[]);
        let Compared { daemon: samples, base, floor } = propose_against(&rig, ROUNDS_ALWAYS, Baseline::Fdatasync);
        rows.push(latency_row(
            "propose_always",
            &samples,
            "raw_fdatasync_200b",
            &base,
            "p50 <= 1.3x raw",
            |_, _, r| r <= 1.3,
        ));
        let floor = floor.expect("measured with the fdatasync baseline");
        // The raw UDS round trip plus one fdatasync: the floor any `always` answer pays.
        rows.push(reported_row("floor_uds_fdatasync", &floor, "raw_fdatasync_200b", &base));
    }
    rows
}

//! `propose` round trips of a safe command through the daemon with an in-process client:
//! `batch` against raw UDS ping-pong of the same bytes, `always` against a raw 200-byte
//! append + fdatasync on the same filesystem, each measured in the same run.

use holdfast::wire::{Proposal, Request, RequestBody};

use crate::bench_audit::raw_fdatasync;
use crate::bench_ping::raw_baseline;
use crate::report::{Row, latency_row};
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

fn round_trips(rig: &Rig, rounds: usize) -> (Vec<u64>, Vec<u8>) {
    crate::bench_audit::round_trips(rig, &propose_frame(rig), br#"{"v":1,"kind":"verdict","decision":"allow""#, rounds)
}

pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    {
        let rig = Rig::start(&["--durability", "batch"]);
        let (samples, reply) = round_trips(&rig, ROUNDS_BATCH);
        let base = raw_baseline(&rig, &propose_frame(&rig), reply, ROUNDS_BATCH);
        rows.push(latency_row("propose_batch", &samples, "raw_uds", &base, "p50 <= 2x raw", |_, _, r| r <= 2.0));
    }
    {
        let rig = Rig::start(&[]);
        let (samples, _) = round_trips(&rig, ROUNDS_ALWAYS);
        let base = raw_fdatasync(&rig, ROUNDS_ALWAYS);
        rows.push(latency_row(
            "propose_always",
            &samples,
            "raw_fdatasync_200b",
            &base,
            "p50 <= 1.3x raw",
            |_, _, r| r <= 1.3,
        ));
    }
    rows
}

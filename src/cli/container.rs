//! `holdfast container`: how an agent inside a dev container reaches this machine's daemon — the
//! socket's directory bind-mounted into the container, found there through `HOLDFAST_SOCKET` — and,
//! when the global policy turns on `[daemon] tcp`, the loopback TCP setup with its token file.

use anyhow::Result;
use clap::Args;
use holdfast::paths::{Endpoint, Paths};
use serde::Serialize;

use super::Exit;
use super::output::print_json;

/// Where the socket's directory appears inside the container.
const IN_CONTAINER: &str = "/run/holdfast";

#[derive(Args, Debug)]
pub struct ContainerArgs {
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

/// The mount, for people and for scripts.
#[derive(Serialize)]
struct Mount {
    /// The host directory that holds the socket (and only the socket and the PID file).
    host_dir: String,
    container_dir: &'static str,
    /// What the hook inside the container needs in its environment.
    socket_env: String,
    /// The uid the container's agent must run as: the socket is 0600, owned by this user.
    uid: Option<u32>,
    docker_run: String,
    devcontainer_json: serde_json::Value,
    /// The TCP setup, when the global policy has `[daemon] tcp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<Tcp>,
}

/// The loopback TCP setup.
#[derive(Serialize)]
struct Tcp {
    /// The address in the policy (port 0: see `holdfast status` for the one bound).
    addr: String,
    /// The token file to copy (read-only) into the container.
    token_file: String,
    /// `docker run` on Linux: host networking, so the container's 127.0.0.1 is the host's.
    docker_run: String,
}

/// Where the token file appears inside the container.
const TOKEN_IN_CONTAINER: &str = "/run/holdfast-token/tcp.token";

/// The TCP setup, from the global policy.
fn tcp_setup(paths: &Paths) -> Option<Tcp> {
    let settings = holdfast::policy::Policy::load(&paths.policy()).ok()?.daemon;
    let addr = settings.tcp?;
    let token_file = paths.tcp_token().display().to_string();
    let docker_run = format!(
        "docker run --network host -v {token_file}:{TOKEN_IN_CONTAINER}:ro -e HOLDFAST_ENDPOINT=tcp://127.0.0.1:{} \
         -e HOLDFAST_TOKEN_FILE={TOKEN_IN_CONTAINER} IMAGE",
        addr.port()
    );
    Some(Tcp { addr: addr.to_string(), token_file, docker_run })
}

/// `holdfast container`.
pub fn container(args: &ContainerArgs) -> Result<Exit> {
    let paths = Paths::from_env()?;
    let Endpoint::Socket(socket) = &paths.endpoint else {
        anyhow::bail!(
            "this machine's endpoint is a named pipe, which a container cannot mount; \
             reach the daemon over loopback TCP instead (see the README, \"Agents in containers\")"
        );
    };
    let dir = socket.parent().map(|d| d.display().to_string()).unwrap_or_default();
    let name = socket.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let socket_env = format!("HOLDFAST_SOCKET={IN_CONTAINER}/{name}");
    let uid = current_uid();
    let user = uid.map_or_else(String::new, |u| format!(" --user {u}"));
    let m = Mount {
        docker_run: format!(
            "docker run -v {dir}:{IN_CONTAINER} -v \"$(command -v holdfast)\":/usr/local/bin/holdfast:ro -e {socket_env}{user} IMAGE"
        ),
        devcontainer_json: serde_json::json!({
            "mounts": [format!("source={dir},target={IN_CONTAINER},type=bind")],
            "containerEnv": {"HOLDFAST_SOCKET": format!("{IN_CONTAINER}/{name}")},
            "runArgs": uid.map(|u| vec!["--user".to_string(), u.to_string()]).unwrap_or_default(),
        }),
        host_dir: dir,
        container_dir: IN_CONTAINER,
        socket_env,
        uid,
        tcp: tcp_setup(&paths),
    };
    if args.json {
        print_json(&m);
        return Ok(Exit::Ok);
    }
    println!("Mount the daemon's socket directory into the container; its hook finds the daemon there.");
    println!();
    println!("  host directory   {}", m.host_dir);
    println!("  in the container {IN_CONTAINER}, with {}", m.socket_env);
    if let Some(uid) = m.uid {
        println!("  run the agent as uid {uid}: the socket is 0600 and only this user may connect");
    }
    println!();
    println!("docker run:");
    println!("  {}", m.docker_run);
    println!();
    println!("devcontainer.json:");
    println!("{}", serde_json::to_string_pretty(&m.devcontainer_json)?);
    println!();
    println!("The container also needs the holdfast binary (mounted above) and the agent's hook set up inside it");
    println!("(`holdfast init` in the container). The daemon records each proposal's peer as the kernel reports it.");
    if let Some(t) = &m.tcp {
        println!();
        println!(
            "Or over loopback TCP ([daemon] tcp = \"{}\"): copy the token file into the container read-only.",
            t.addr
        );
        println!("  token file  {}", t.token_file);
        println!("  {}", t.docker_run);
    }
    Ok(Exit::Ok)
}

#[cfg(unix)]
fn current_uid() -> Option<u32> {
    Some(rustix::process::getuid().as_raw())
}

#[cfg(not(unix))]
fn current_uid() -> Option<u32> {
    None
}

//! Running the daemon as a Windows service (`holdfast daemon --service`).
//!
//! The Service Control Manager starts a service's process and expects it, within 30 s, to connect
//! to the SCM (`StartServiceCtrlDispatcher`), register a control handler and report `Running`;
//! a process that does not is killed. So the service's command line is `holdfast.exe daemon
//! --service`: [`run`] hands the main thread to the dispatcher, whose service main reports
//! `Running`, runs the daemon, and maps Stop and Shutdown onto the daemon's stop flag (the same
//! flag Ctrl-C raises in a console), so a stop finishes the frame in hand, writes the
//! `daemon_stop` record and removes the PID file before `Stopped` is reported.
//!
//! No unsafe code here: the service entry point is written by hand (the crate's
//! `define_windows_service!` macro would expand an `unsafe` block into this crate) and ignores
//! the raw start arguments, which holdfast does not use; everything else is the `windows-service`
//! crate's safe API.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_dispatcher;

use crate::signals::Signals;

/// What the service runs: the daemon, until the stop flag is raised. `Err`: why it failed.
pub type Body = Box<dyn FnOnce(&Signals) -> Result<(), String> + Send>;

/// The service name and body [`run`] hands to the dispatcher's thread (the entry point takes no
/// context).
static BODY: OnceLock<Mutex<Option<(String, Body)>>> = OnceLock::new();

/// `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`: the process was not started by the SCM.
const NOT_A_SERVICE: i32 = 1063;

/// Runs `body` as the Windows service `name`; returns when the service has stopped. Fails at once
/// when this process was not started by the Service Control Manager.
pub fn run(name: &str, body: Body) -> io::Result<()> {
    let slot = BODY.get_or_init(|| Mutex::new(None));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((name.to_owned(), body));
    service_dispatcher::start(name, service_entry).map_err(|e| match e {
        windows_service::Error::Winapi(w) if w.raw_os_error() == Some(NOT_A_SERVICE) => io::Error::other(
            "`holdfast daemon --service` runs only when the Windows Service Control Manager starts it \
             (sc.exe start holdfast); run `holdfast daemon` in a console instead",
        ),
        other => io::Error::other(format!("cannot connect to the Service Control Manager: {other}")),
    })
}

/// The service entry point the SCM calls on its own thread (arguments unused, see the module doc).
extern "system" fn service_entry(_argc: u32, _argv: *mut *mut u16) {
    let body = BODY.get().and_then(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).take());
    if let Some((name, body)) = body
        && let Err(e) = serve(&name, body)
    {
        eprintln!("holdfast: the Windows service failed: {e}");
    }
}

/// Registers the control handler, reports `Running`, runs the daemon, reports `Stopped`.
fn serve(name: &str, body: Body) -> Result<(), String> {
    let signals = Signals::default();
    let stop = std::sync::Arc::clone(&signals.stop);
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            stop.store(true, Ordering::SeqCst);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let status = service_control_handler::register(name, handler).map_err(|e| e.to_string())?;
    let report = |state, accept, exit_code| {
        status.set_service_status(ServiceStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state: state,
            controls_accepted: accept,
            exit_code,
            checkpoint: 0,
            wait_hint: Duration::from_secs(10),
            process_id: None,
        })
    };
    let accept = ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN;
    report(ServiceState::Running, accept, ServiceExitCode::Win32(0)).map_err(|e| e.to_string())?;
    let outcome = body(&signals);
    // A daemon that failed (a broken policy, an endpoint in use) exits with a service-specific code,
    // so the SCM's failure actions (restart) apply and `sc query` shows it.
    let exit_code = if outcome.is_ok() { ServiceExitCode::Win32(0) } else { ServiceExitCode::ServiceSpecific(1) };
    report(ServiceState::Stopped, ServiceControlAccept::empty(), exit_code).map_err(|e| e.to_string())?;
    outcome
}

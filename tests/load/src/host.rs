//! A `tradewire run` process under measurement: started on a pipeline file, ready when its
//! `/health` answers, read through `/metrics` and `/proc`, stopped with SIGTERM.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Host {
    child: Child,
    pub api: SocketAddr,
    /// From spawning the process to its first `/health` answer.
    pub start_to_ready: Duration,
}

impl Host {
    /// Starts `binary run pipeline` in `dir` and waits (up to a minute) for its `/health`.
    pub fn start(
        binary: &Path,
        dir: &Path,
        pipeline: &Path,
        api: SocketAddr,
    ) -> std::io::Result<Self> {
        let log = std::fs::File::create(dir.join("tradewire.log"))?;
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("run")
            .arg(pipeline)
            .current_dir(dir)
            .env("TRADEWIRE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut host = Self {
            child,
            api,
            start_to_ready: Duration::ZERO,
        };
        let deadline = started + Duration::from_secs(60);
        while get(api, "/health").is_none() {
            if let Ok(Some(status)) = host.child.try_wait() {
                return Err(std::io::Error::other(format!(
                    "tradewire run exited at start: {status}"
                )));
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other(
                    "tradewire run did not answer /health in a minute",
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        host.start_to_ready = started.elapsed();
        Ok(host)
    }

    /// Resident memory now and at its peak, in KiB (`VmRSS`, `VmHWM`).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU time the process has used so far, user and system, its threads' included.
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.child.id()).unwrap_or_default()
    }

    /// SIGTERM, and the wait for the exit.
    pub fn stop(mut self) -> std::io::Result<std::process::ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(std::io::Error::other)?;
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        self.child.wait()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sample of the `/metrics` at `api` named `name` with `component="<component>"`.
pub fn metric(api: SocketAddr, name: &str, component: &str) -> Option<f64> {
    let text = get(api, "/metrics")?;
    let prefix = format!("{name}{{component=\"{component}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// A plain HTTP/1.1 GET: the body of a 200.
pub fn get(address: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// A loopback address whose port was free when asked.
pub fn free_address() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// CPU time process `pid` has used, user and system (`/proc/<pid>/stat`, fields 14 and 15),
/// its threads' included, those that ended too. `None` when it cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are numbers.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a system setting.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks_per_second = u64::try_from(ticks_per_second).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(
        (user + system) as f64 / ticks_per_second as f64,
    ))
}

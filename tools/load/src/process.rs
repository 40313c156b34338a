//! What Linux's `/proc` says about a server process: its resident memory,
//! which process listens on a port, and how busy the machine is.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The process's resident set size (`VmRSS` in `/proc/PID/status`), in
/// KiB: the memory pages it actually occupies, not what it reserved.
pub fn resident_kib(pid: u32) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status (is process {pid} running?)"))?;
    status_field_kib(&status, "VmRSS").with_context(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// `VmRSS:     1234 kB` → 1234.
fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The id of the process listening on `127.0.0.1:port` (or on all
/// addresses), found the way `ss -ltnp` finds it: the socket's inode in
/// `/proc/net/tcp`, then the process that has that inode open.
pub fn listener_pid(port: u16) -> Result<u32> {
    let inode = listening_inode(port)?;
    let target = format!("socket:[{inode}]");
    for process in fs::read_dir("/proc")?.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        // Other users' processes are unreadable: not ours to measure anyway.
        let Ok(fds) = fs::read_dir(process.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if fs::read_link(fd.path()).is_ok_and(|link| link == Path::new(&target)) {
                return Ok(pid);
            }
        }
    }
    bail!("no process of yours has the socket listening on port {port}; pass --pid")
}

/// The inode of the TCP socket listening on `port`, from `/proc/net/tcp`,
/// whose lines read `sl local_address rem_address st … inode`, addresses as
/// hex `ADDR:PORT` and state `0A` for LISTEN.
fn listening_inode(port: u16) -> Result<u64> {
    const LISTEN: &str = "0A";
    let table = fs::read_to_string("/proc/net/tcp").context("reading /proc/net/tcp")?;
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.len() > 9 && fields[1].ends_with(&wanted) && fields[3] == LISTEN)
        .and_then(|fields| fields[9].parse().ok())
        .with_context(|| format!("nothing listens on 127.0.0.1:{port} (IPv4)"))
}

/// The CPU time the process has used so far, all its threads, user and
/// kernel (`utime` + `stime` in `/proc/PID/stat`).
///
/// Unlike a latency, CPU time hardly depends on what else the machine is
/// doing: CPU time per message is the steadiest figure a busy machine gives.
/// Its resolution is a clock tick, 10 ms: measure over seconds.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat (is process {pid} running?)"))?;
    stat_cpu_time(&stat).with_context(|| format!("no CPU times in /proc/{pid}/stat"))
}

/// A process's CPU time over a stretch of work. Where it cannot be read —
/// no `/proc` (macOS), or another user's process — there is simply no
/// figure, and the measurement goes on without it.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    start: Duration,
}

impl CpuMeter {
    /// Starts measuring `pid`, if there is one and its CPU time can be read.
    pub fn start(pid: Option<u32>) -> Option<CpuMeter> {
        let pid = pid?;
        Some(CpuMeter { pid, start: cpu_time(pid).ok()? })
    }

    /// The CPU time used since [`CpuMeter::start`].
    pub fn used(&self) -> Option<Duration> {
        Some(cpu_time(self.pid).ok()?.saturating_sub(self.start))
    }
}

/// How many write system calls the process has made so far, all its
/// threads (`syscw` in `/proc/PID/io`: `write` and `writev`, which is what
/// tokio and hyper use on sockets; not `sendto`/`sendmsg`).
///
/// Counting calls, unlike timing them, needs no tracer and costs nothing:
/// writes per delivery is as steady on a busy machine as on an idle one.
pub fn write_calls(pid: u32) -> Result<u64> {
    let io = fs::read_to_string(format!("/proc/{pid}/io"))
        .with_context(|| format!("reading /proc/{pid}/io (is process {pid} running, and yours?)"))?;
    io_field(&io, "syscw").with_context(|| format!("no syscw in /proc/{pid}/io"))
}

/// `syscw: 123` in `/proc/PID/io` → 123.
fn io_field(io: &str, field: &str) -> Option<u64> {
    io.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().parse().ok())
}

/// A process's write calls over a stretch of work (see [`CpuMeter`]).
#[derive(Debug, Clone, Copy)]
pub struct WriteMeter {
    pid: u32,
    start: u64,
}

impl WriteMeter {
    /// Starts counting `pid`'s write calls, if there is one and they can be read.
    pub fn start(pid: Option<u32>) -> Option<WriteMeter> {
        let pid = pid?;
        Some(WriteMeter { pid, start: write_calls(pid).ok()? })
    }

    /// The write calls made since [`WriteMeter::start`].
    pub fn made(&self) -> Option<u64> {
        Some(write_calls(self.pid).ok()?.saturating_sub(self.start))
    }
}

/// `pid (name) state … utime stime …`: the name may hold spaces and
/// parentheses, so fields are counted from the last `)`; utime and stime
/// are the 14th and 15th fields, in clock ticks.
fn stat_cpu_time(stat: &str) -> Option<Duration> {
    /// Linux reports these times in USER_HZ ticks, 100 per second on every
    /// architecture (the kernel converts from its own rate).
    const TICKS_PER_SECOND: u64 = 100;
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg`, as text:
/// figures taken while other work keeps the cores busy are noise.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// This process's nice value (`/proc/self/stat`, the 19th field): the
/// servers it starts inherit it, so a measurement run under `nice -n 19`
/// says so in its figures.
pub fn niceness() -> Option<i32> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(16)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_the_status_file() {
        let status = "Name:\tload\nVmPeak:\t  99 kB\nVmRSS:\t    4321 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(status_field_kib(status, "VmRSS"), Some(4321));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
    }

    #[test]
    fn write_calls_are_read_from_the_io_file() {
        let io = "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 42\nread_bytes: 0\n";
        assert_eq!(io_field(io, "syscw"), Some(42));
        assert_eq!(io_field(io, "syscr"), Some(10));
        assert_eq!(io_field(io, "nothing"), None);
    }

    #[test]
    fn cpu_time_is_user_plus_system_time() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 30 0 0 20 0 3 0 9 0";
        assert_eq!(stat_cpu_time(stat), Some(Duration::from_millis(2800)));
    }

    #[test]
    fn this_process_has_a_nice_value() {
        assert!(niceness().is_some_and(|nice| (-20..=19).contains(&nice)));
    }

    #[test]
    fn this_process_has_resident_memory() {
        assert!(resident_kib(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn the_listener_of_a_port_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listener_pid(port).unwrap(), std::process::id());
    }
}

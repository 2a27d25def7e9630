// SPDX-License-Identifier: MIT OR Apache-2.0

//! Child processes the benchmark runs (fakecam, camwall, peers) and what the kernel says about
//! them: CPU time from `/proc/PID/stat`, peak memory from `/proc/PID/status`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};

const TAIL_LINES: usize = 40;

/// A child process whose output is read line by line; terminated (then killed) on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    lines: Receiver<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> anyhow::Result<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {name} ({cmd:?})"))?;
        let (tx, lines) = mpsc::channel();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as _),
            child.stderr.take().map(|s| Box::new(s) as _),
        ];
        for stream in streams.into_iter().flatten() {
            let (tx, tail) = (tx.clone(), tail.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    {
                        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                        if t.len() == TAIL_LINES {
                            t.pop_front();
                        }
                        t.push_back(line.clone());
                    }
                    // Nobody listening any more is fine: the tail keeps the last lines.
                    let _ = tx.send(line);
                }
            });
        }
        Ok(Proc {
            name: name.to_string(),
            child,
            lines,
            tail,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next output line for which `pred` holds, within `timeout`.
    pub fn wait_line(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) if pred(&line) => return Ok(line),
                Ok(_) => {}
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        bail!("{} exited ({status}):\n{}", self.name, self.tail());
                    }
                    if Instant::now() >= deadline {
                        bail!(
                            "{}: no such line within {timeout:?}:\n{}",
                            self.name,
                            self.tail()
                        );
                    }
                }
            }
        }
    }

    /// The output lines that came since the last call (or the start), without waiting.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Fails when the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!("{} exited ({status}):\n{}", self.name, self.tail());
        }
        Ok(())
    }

    /// The last lines of its output.
    pub fn tail(&self) -> String {
        let t = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        t.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        Ok(vm_hwm_kib(self.pid())? as f64 / 1024.0)
    }

    /// SIGTERM, then SIGKILL if it has not exited within two seconds.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("/proc/{pid}/stat"))?;
    parse_stat_ticks(&stat)
        .map(|t| t as f64 / clock_ticks_per_second())
        .ok_or_else(|| anyhow!("/proc/{pid}/stat: unexpected layout"))
}

/// utime + stime (fields 14 and 15) from a `/proc/PID/stat` line. The command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 -> index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Peak resident set size (VmHWM) in KiB.
pub fn vm_hwm_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("/proc/{pid}/status: no VmHWM"))
}

/// CPU use of a process over a window, in percent of one core.
pub struct CpuWindow {
    pid: u32,
    /// Seconds on CPU so far, from `source`.
    cpu: f64,
    source: fn(u32) -> anyhow::Result<f64>,
    start: Instant,
}

impl CpuWindow {
    /// From utime+stime: counts threads that end during the window, in 10 ms ticks.
    pub fn start(pid: u32) -> anyhow::Result<CpuWindow> {
        Self::with_source(pid, cpu_seconds)
    }

    /// From the scheduler's time of every thread ([`threads_cpu_ns`]): exact, for windows where
    /// the process's threads live on.
    pub fn threads(pid: u32) -> anyhow::Result<CpuWindow> {
        Self::with_source(pid, |pid| Ok(threads_cpu_ns(pid)? as f64 / 1e9))
    }

    fn with_source(pid: u32, source: fn(u32) -> anyhow::Result<f64>) -> anyhow::Result<CpuWindow> {
        Ok(CpuWindow {
            pid,
            cpu: source(pid)?,
            source,
            start: Instant::now(),
        })
    }

    pub fn percent(&self) -> anyhow::Result<f64> {
        let cpu = ((self.source)(self.pid)? - self.cpu).max(0.0);
        Ok(100.0 * cpu / self.start.elapsed().as_secs_f64())
    }

    /// [`Self::percent`] once `window` has passed.
    pub async fn after(self, window: Duration) -> anyhow::Result<f64> {
        tokio::time::sleep(window).await;
        self.percent()
    }
}

/// Time on CPU of all of `pid`'s threads so far, in nanoseconds, from the scheduler's own
/// accounting (`/proc/PID/task/*/schedstat`): exact where utime+stime counts 10 ms ticks. A
/// thread that ends takes its time with it, so use it over windows where threads live on.
pub fn threads_cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let mut total = 0u64;
    for entry in std::fs::read_dir(&dir).with_context(|| dir.clone())? {
        let path = entry?.path().join("schedstat");
        // A thread may end between listing and reading.
        if let Ok(s) = std::fs::read_to_string(&path) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| anyhow!("{}: unexpected layout", path.display()))?;
        }
    }
    Ok(total)
}

/// A free TCP port on loopback (bound, then released for the child to take).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Cores, CPU model and memory of this machine.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or("unknown".to_string(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    format!("{cores} cores (nproc), {model}, {mem_gib} RAM")
}

/// Milliseconds between two instants, `b` after `a`.
pub fn ms_between(a: Instant, b: Instant) -> f64 {
    b.saturating_duration_since(a).as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_command_name() {
        let line = "1234 (gst launch (1)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3";
        assert_eq!(parse_stat_ticks(line), Some(325));
        assert_eq!(parse_stat_ticks("1234 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_peak_memory() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
        assert!(vm_hwm_kib(pid).unwrap() > 0);
    }
}

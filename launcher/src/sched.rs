// SPDX-License-Identifier: MIT OR Apache-2.0

//! The scheduling class of each camera's streaming thread.
//!
//! Each camera has threads that receive its packets (rtspsrc's udpsrc tasks) and one that
//! depayloads, decodes and analyses every frame (rtspsrc's jitterbuffer task); the latter also
//! scales, encodes and serves the frames of the camera on screen. The hidden cameras' work is
//! throughput work: it must keep up, but nobody waits for any one of their frames. Their
//! threads run as `SCHED_BATCH`, so waking up for a packet never preempts a running thread:
//! a receiving thread that has to wait for a core then takes several packets in one go. Fewer
//! wake-ups and context switches, less CPU, and the camera on screen keeps the cores first
//! when the machine is busy. The threads of the camera on screen run as normal threads.
//!
//! A thread is moved by itself, from the frame and packet probes, when the camera it carries is
//! shown or hidden: no thread ids are kept. When its task ends it becomes a normal thread again
//! before going back to GStreamer's thread pool. A thread that started in any class other than
//! `SCHED_OTHER` (camwall run under `chrt`, say) is the user's choice and is never touched.

use std::cell::Cell;

/// What a camera's streaming thread carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The camera on screen: a normal thread.
    OnScreen,
    /// A hidden camera: `SCHED_BATCH`.
    Hidden,
}

impl Role {
    pub fn of(shown: bool) -> Role {
        if shown {
            Role::OnScreen
        } else {
            Role::Hidden
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Managed {
    /// Not looked at yet.
    Unknown,
    /// Started in another class than `SCHED_OTHER`, or the class cannot be changed here.
    Never,
    In(Role),
}

thread_local! {
    static CURRENT: Cell<Managed> = const { Cell::new(Managed::Unknown) };
}

/// Puts the calling thread in the class for `role`. Costs one thread-local read when the
/// thread is already there.
pub fn enter(role: Role) {
    CURRENT.with(|current| {
        let now = current.get();
        if now == Managed::In(role) || now == Managed::Never {
            return;
        }
        if now == Managed::Unknown && !os::is_default_class() {
            current.set(Managed::Never);
            return;
        }
        match os::set(role) {
            Ok(()) => current.set(Managed::In(role)),
            Err(e) => {
                tracing::debug!("streaming thread stays in its scheduling class: {e}");
                current.set(Managed::Never);
            }
        }
    });
}

/// Gives the calling thread back its normal class as it leaves a camera's task: GStreamer's
/// task threads are pooled, and the next task this one runs may be anything.
pub fn leave() {
    CURRENT.with(|current| {
        if let Managed::In(Role::Hidden) = current.get() {
            if let Err(e) = os::set(Role::OnScreen) {
                tracing::debug!("pooled streaming thread stays in SCHED_BATCH: {e}");
            }
        }
        current.set(Managed::Unknown);
    });
}

#[cfg(target_os = "linux")]
mod os {
    use super::Role;
    use std::io;

    pub fn is_default_class() -> bool {
        // SAFETY: no pointers; 0 is the calling thread.
        unsafe { libc::sched_getscheduler(0) == libc::SCHED_OTHER }
    }

    pub fn set(role: Role) -> io::Result<()> {
        let policy = match role {
            Role::OnScreen => libc::SCHED_OTHER,
            Role::Hidden => libc::SCHED_BATCH,
        };
        // Both classes take priority 0; the thread's nice value is kept.
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param that outlives the call; 0 is the calling
        // thread (on Linux the call acts on one thread, not the whole process).
        if unsafe { libc::sched_setscheduler(0, policy, &param) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::Role;
    use std::io;

    pub fn is_default_class() -> bool {
        true
    }

    pub fn set(_: Role) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no SCHED_BATCH on this system",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum Step {
        Show,
        Hide,
        Leave,
    }

    /// Runs `steps` on the calling thread, checking its class after each.
    fn check(steps: &[(Step, i32)]) {
        for &(step, want) in steps {
            match step {
                Step::Show => enter(Role::OnScreen),
                Step::Hide => enter(Role::Hidden),
                Step::Leave => leave(),
            }
            // SAFETY: no pointers; 0 is the calling thread.
            let class = unsafe { libc::sched_getscheduler(0) };
            assert_eq!(class, want, "after {step:?} in {steps:?}");
        }
    }

    #[test]
    fn hidden_threads_batch_and_come_back_when_shown_or_pooled() {
        std::thread::spawn(|| {
            use libc::{SCHED_BATCH as BATCH, SCHED_OTHER as OTHER};
            check(&[
                (Step::Hide, BATCH),
                (Step::Hide, BATCH),
                (Step::Show, OTHER),
                (Step::Hide, BATCH),
                // Back to the pool: a normal thread again, and the next task starts afresh.
                (Step::Leave, OTHER),
                (Step::Hide, BATCH),
                (Step::Leave, OTHER),
                (Step::Leave, OTHER),
            ]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_the_user_put_in_another_class_is_left_alone() {
        std::thread::spawn(|| {
            let param = libc::sched_param { sched_priority: 0 };
            // SAFETY: as in `os::set`.
            assert_eq!(
                unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) },
                0
            );
            let idle = libc::SCHED_IDLE;
            check(&[(Step::Show, idle), (Step::Hide, idle), (Step::Leave, idle)]);
        })
        .join()
        .unwrap();
    }
}

//! The fault suite (`cargo xtask test --faults`): a Python plugin on a real `mm-plugin-host`
//! process under load, crashes, hangs, bad input and hostile callers. Scenarios run one at a time
//! (each drives its own host; two at once would measure each other). `MM_FAULTS_LOAD_SECS` sets
//! how long the load scenarios run (default 15 s).

mod faults {
    pub mod bad_input;
    pub mod crash;
    pub mod hangs;
    pub mod load;
    pub mod security;
    pub mod support;
}

use faults::support;

/// One scenario at a time (for plain `#[test]`s).
pub fn serial_blocking() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.blocking_lock()
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One scenario at a time.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

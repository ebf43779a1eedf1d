//! Links the release binary with the functions that start-up and an idle instance run
//! placed together (`app/startup.order`, written by `scripts/orderfile`).
//!
//! Why: the kernel maps code 64 KiB around each page an instance first runs (fault-around),
//! and start-up touches ~3 MiB of functions spread over ~30 MB of code, so left in link
//! order they keep ~19 MiB of the binary resident; packed together, a few MiB. Symbols the
//! file names but the build does not have (another toolchain, other features, changed
//! code) are skipped: the file can only be stale, never wrong.
//!
//! Only for the release profile of x86_64 Linux, where rustc (1.90 and later) links with
//! its own LLD, the linker that reads `--symbol-ordering-file`, and not when the build
//! picks its own linker (RUSTFLAGS naming one, `CARGO_TARGET_…_LINKER`). `APP_NO_ORDERFILE=1`
//! turns it off.

use std::path::Path;
use std::process::Command;

fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    version.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
}

fn main() {
    println!("cargo:rerun-if-changed=startup.order");
    println!("cargo:rerun-if-env-changed=APP_NO_ORDERFILE");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    // A linker chosen by hand may not be LLD (GNU ld has no --symbol-ordering-file).
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    let own_linker = ["fuse-ld", "linker-features", "linker-flavor", "linker="].iter().any(|f| flags.contains(f))
        || !env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_empty();
    let wanted = env("PROFILE") == "release"
        && env("TARGET") == "x86_64-unknown-linux-gnu"
        && env("APP_NO_ORDERFILE").is_empty()
        && !own_linker
        && rustc_minor().is_some_and(|minor| minor >= 90);
    let order = Path::new(&env("CARGO_MANIFEST_DIR")).join("startup.order");
    if wanted && order.is_file() {
        println!("cargo:rustc-link-arg-bin=app=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bin=app=-Wl,--no-warn-symbol-ordering");
    }
}

//! Loading adapter libraries: check the file, open it, check the contract.
//!
//! A library is refused — with its path and the reason — rather than allowed to take
//! the host down:
//! - The file is parsed as an object file first. `dlopen` of a truncated ELF file kills
//!   the process with SIGBUS before any error can be returned, so a file whose segments or
//!   sections lie past its end is refused here.
//! - It must be a shared library for this machine's architecture, exporting exactly one
//!   root module symbol (`tradewire_adapter_root__<crate>`).
//! - `abi_stable` checks the root module's layout against the one of the ABI version the
//!   library reports ([`tradewire_sdk::abi::init_root_module`]); the SDK's
//!   [`AdapterModule`] then checks the contract version and reads the manifest.
//! - A library whose static initialisers crash can only be caught in another process:
//!   [`probe_in_child`] re-runs the host on the file first, when the host is a binary
//!   that can do so.
//!
//! Each file is loaded with its own `LibHeader` (never `RootModule::load_from_file`, which
//! caches the first module loaded per type), and libraries are never unloaded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use abi_stable::library::AbiHeaderRef;
use object::{Object, ObjectKind, ObjectSection, ObjectSegment, ObjectSymbol};
use tradewire_sdk::AdapterModule;
use tradewire_sdk::abi::ROOT_SYMBOL_PREFIX;

/// Why a library was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The file name extension of dynamic libraries on this platform (`so`, `dylib`, `dll`).
pub const LIBRARY_EXTENSION: &str = std::env::consts::DLL_EXTENSION;

/// True when `path` names a file the loader should consider in a plugin directory.
pub fn is_library_candidate(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == LIBRARY_EXTENSION)
        && !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Checks `path` without running any of its code and returns its root module symbol.
pub fn inspect(path: &Path) -> Result<String, String> {
    // Only the headers and the symbol tables are read, not the whole file: a library is
    // megabytes, and reading it all would count in the host's peak memory.
    let opened = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let len = opened
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?
        .len();
    let cache = object::ReadCache::new(opened);
    let file = object::File::parse(&cache)
        .map_err(|e| format!("not a loadable library (corrupt or truncated): {e}"))?;
    if file.kind() != ObjectKind::Dynamic {
        return Err(format!(
            "not a shared library (object kind {:?})",
            file.kind()
        ));
    }
    let host_arch = host_architecture();
    if Some(file.architecture()) != host_arch {
        return Err(format!(
            "built for {:?}, this host is {:?}",
            file.architecture(),
            host_arch
        ));
    }
    for segment in file.segments() {
        let (offset, size) = segment.file_range();
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(format!(
                "truncated: a segment spans bytes {offset}..{} of a {len}-byte file",
                offset.saturating_add(size)
            ));
        }
    }
    for section in file.sections() {
        if let Some((offset, size)) = section.file_range()
            && offset.checked_add(size).is_none_or(|end| end > len)
        {
            return Err(format!(
                "truncated: section {} lies past the end of the {len}-byte file",
                section.name().unwrap_or("?")
            ));
        }
    }
    let mut roots: Vec<String> = file
        .dynamic_symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_owned))
        .filter(|name| name.starts_with(ROOT_SYMBOL_PREFIX))
        .collect();
    roots.sort();
    roots.dedup();
    match roots.len() {
        0 => Err(format!(
            "exports no Tradewire adapter (no `{ROOT_SYMBOL_PREFIX}*` symbol; build it with tradewire_sdk::export_adapter!)"
        )),
        1 => Ok(roots.remove(0)),
        _ => Err(format!(
            "exports {} adapter root modules ({}); a library ships exactly one",
            roots.len(),
            roots.join(", ")
        )),
    }
}

fn host_architecture() -> Option<object::Architecture> {
    use object::Architecture as A;
    match std::env::consts::ARCH {
        "x86_64" => Some(A::X86_64),
        "aarch64" => Some(A::Aarch64),
        "x86" => Some(A::I386),
        "arm" => Some(A::Arm),
        "riscv64" => Some(A::Riscv64),
        "powerpc64" => Some(A::PowerPc64),
        "s390x" => Some(A::S390x),
        _ => None,
    }
}

/// Loads the adapter library at `path` into this process. Never unloaded.
pub fn load(path: &Path) -> Result<AdapterModule, LoadError> {
    let refuse = |reason: String| LoadError {
        path: path.to_owned(),
        reason,
    };
    let symbol = inspect(path).map_err(refuse)?;
    // SAFETY: loading a library runs its initialisers; the file passed the checks above,
    // and `probe_in_child` catches initialisers that crash before this is reached.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| refuse(format!("dlopen failed: {e}")))?;
    let root = {
        // SAFETY: the symbol is a `LibHeader` static emitted by `export_adapter!`, whose
        // first field is the `AbiHeader` that `AbiHeaderRef` points to; `upgrade` checks it.
        let header: AbiHeaderRef = unsafe { library.get::<AbiHeaderRef>(symbol.as_str()) }
            .map(|symbol| *symbol)
            .map_err(|e| refuse(format!("cannot resolve {symbol}: {e}")))?;
        let header = header
            .upgrade()
            .map_err(|e| refuse(format!("incompatible abi_stable header: {e}")))?;
        tradewire_sdk::abi::init_root_module(header)
            .map_err(|e| refuse(describe_root_module_error(&e)))?
    };
    // Libraries are never unloaded: the module's functions and statics must outlive
    // every instance and every reference into them.
    std::mem::forget(library);
    // SAFETY: the root module of a library whose layout was checked; its functions are
    // trusted to keep the contract with each other as its code is trusted once loaded
    // (opening it already ran its initialisers). `export_adapter!` makes them so.
    unsafe { AdapterModule::new(root) }.map_err(|e| refuse(e.to_string()))
}

/// A one-paragraph reason for a failed root module check. abi_stable's own report on a
/// layout mismatch is a multi-kilobyte dump of both layouts: it goes to the debug log,
/// and the refusal names the two packages whose `AdapterMod` differ.
fn describe_root_module_error(error: &abi_stable::library::LibraryError) -> String {
    use abi_stable::library::LibraryError;
    match error {
        LibraryError::AbiInstability(report) => {
            let report = report.to_string();
            tracing::debug!(%report, "abi_stable layout report");
            let packages: Vec<&str> = report
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("package:'") && !l.starts_with("package:'abi_stable'"))
                .collect();
            let mut unique = packages.clone();
            unique.dedup();
            match unique.as_slice() {
                [host, library, ..] => format!(
                    "its root module layout is incompatible with this host's: the host expects `AdapterMod` from {}, the library has one from {} (built against another tradewire-sdk?)",
                    package_phrase(host),
                    package_phrase(library)
                ),
                _ => "its root module layout is incompatible with this host's (built against another tradewire-sdk?)".to_owned(),
            }
        }
        other => format!("incompatible root module: {other}"),
    }
}

/// `package:'tradewire-sdk' version:'0.1.0'Tag:` → `tradewire-sdk 0.1.0`.
fn package_phrase(line: &str) -> String {
    let field = |key: &str| {
        line.split(key)
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or("?")
    };
    format!("{} {}", field("package:'"), field("version:'"))
}

/// The hidden CLI subcommand that [`probe_in_child`] runs.
pub const PROBE_SUBCOMMAND: &str = "__probe-library";

/// Loads `paths` in a child process (`exe __probe-library PATH...`) so that a library that
/// crashes while loading takes down only the child. Returns the child's reason when it
/// refused a library, or how it died.
pub fn probe_in_child(exe: &Path, paths: &[PathBuf]) -> Result<(), String> {
    let output = Command::new(exe)
        .arg(PROBE_SUBCOMMAND)
        .args(paths)
        .stdin(Stdio::null())
        .env("TRADEWIRE_LOG", "off")
        .output()
        .map_err(|e| format!("cannot start the probe process {}: {e}", exe.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = output.status.signal() {
            return Err(format!(
                "crashed while loading (signal {signal} in the probe process)"
            ));
        }
    }
    Err(if said.is_empty() {
        format!("the probe process failed ({})", output.status)
    } else {
        said
    })
}

/// Implements [`PROBE_SUBCOMMAND`]: load each library, write the reason for the first
/// refusal to stdout, exit.
pub fn run_probe(paths: &[PathBuf]) -> i32 {
    for path in paths {
        if let Err(e) = load(path) {
            println!("{}", e.reason);
            return 1;
        }
    }
    0
}

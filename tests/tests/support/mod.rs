//! Finding the cdylibs cargo built for this test run.

use std::path::PathBuf;

/// The dynamic library cargo built for crate `crate_name` (underscored), in the directory
/// of the running test binary (`target/<profile>/deps`).
pub fn cdylib(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let deps = exe.parent().expect("the test binary is in a directory");
    let path = deps.join(format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        path.is_file(),
        "{} was not built; is `{crate_name}` a dev-dependency?",
        path.display()
    );
    path
}

/// A fresh directory holding copies of the given libraries.
pub fn plugin_dir(crates: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in crates {
        let from = cdylib(name);
        std::fs::copy(&from, dir.path().join(from.file_name().expect("file name")))
            .expect("copy library");
    }
    dir
}

//! `tradewire validate | graph | run | dlq | trace`: the pipeline commands.

use std::path::Path;

use serde_json::json;
use tradewire_runtime::LoadOptions;
use tradewire_runtime::config::{ConfigReport, Severity};

use crate::cli::{Failure, Format, write_stdout};

/// Prints a pipeline file's diagnostics: for people on stderr, or as JSON on stdout.
pub fn print_report(format: Format, report: &ConfigReport, valid: bool) {
    match format {
        Format::Text => eprint!("{report}"),
        Format::Json => {
            let body = json!({"valid": valid, "diagnostics": report.0});
            let _ = write_stdout(format!("{body}\n").as_bytes());
        }
    }
}

pub fn validate(file: &Path, options: &LoadOptions, format: Format) -> Result<(), Failure> {
    let pipeline = tradewire_runtime::load(file, options).map_err(Failure::Pipeline)?;
    print_report(format, &pipeline.warnings, true);
    if format == Format::Text {
        let warnings = pipeline.warnings.0.iter().filter(|d| d.severity == Severity::Warning).count();
        let summary = format!(
            "{}: valid ({} sources, {} transforms, {} sinks; {warnings} warnings)\n",
            file.display(),
            pipeline.sources.len(),
            pipeline.config.transforms.len(),
            pipeline.sinks.len(),
        );
        write_stdout(summary.as_bytes())?;
    }
    Ok(())
}

pub fn graph(file: &Path, options: &LoadOptions) -> Result<(), Failure> {
    let pipeline = tradewire_runtime::load(file, options).map_err(Failure::Pipeline)?;
    write_stdout(pipeline.to_dot().as_bytes())
}

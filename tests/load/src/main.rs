//! `tradewire-load`: drive a running pipeline at a fixed rate and report what was
//! acknowledged and delivered.
//!
//! ```sh
//! tradewire-load --url http://127.0.0.1:8080/oci/cart --rate 2000 --seconds 30 \
//!     --body adapters/oci-punchout/fixtures/cart/discountoffice.txt \
//!     --content-type application/x-www-form-urlencoded --sink 127.0.0.1:9000
//! ```
//! with the pipeline's sink delivering to `http://127.0.0.1:9000/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tradewire_load::{Load, Sink, drive, percentiles};

#[derive(Debug, Parser)]
#[command(name = "tradewire-load")]
struct Args {
    /// Where to POST.
    #[arg(long)]
    url: String,
    /// Requests per second.
    #[arg(long)]
    rate: f64,
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// The request body.
    #[arg(long)]
    body: PathBuf,
    #[arg(long, default_value = "application/json")]
    content_type: String,
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
    /// Run a counting sink on this address, and wait for what was acknowledged to arrive.
    #[arg(long)]
    sink: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tradewire-load: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let (url, body) = match (args.url.parse(), std::fs::read(&args.body)) {
            (Ok(url), Ok(body)) => (url, body),
            (Err(e), _) => {
                eprintln!("tradewire-load: --url: {e}");
                return ExitCode::from(2);
            }
            (_, Err(e)) => {
                eprintln!("tradewire-load: {}: {e}", args.body.display());
                return ExitCode::from(2);
            }
        };
        let sink = match args.sink {
            Some(address) => match Sink::start(address).await {
                Ok(sink) => Some(sink),
                Err(e) => {
                    eprintln!("tradewire-load: sink on {address}: {e}");
                    return ExitCode::from(2);
                }
            },
            None => None,
        };
        let load = Load {
            url,
            rate: args.rate,
            duration: Duration::from_secs_f64(args.seconds),
            body: body.into(),
            content_type: args.content_type,
            max_in_flight: args.max_in_flight,
            key_prefix: format!("load-{}", std::process::id()),
        };
        let trackers: Vec<_> = sink.iter().map(|s| s.tracker.clone()).collect();
        let outcome = drive(&load, &trackers).await;
        println!(
            "sent {} in {:.1} s: acknowledged {} ({:.0}/s), refused {}, failed {}",
            outcome.sent,
            outcome.elapsed.as_secs_f64(),
            outcome.acknowledged,
            outcome.acknowledged_per_second(),
            outcome.refused,
            outcome.failed
        );
        println!("acknowledgement: {}", percentiles(&outcome.ack_latency));
        if let Some(sink) = &sink {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while sink.tracker.delivered().0 < outcome.acknowledged
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let (documents, requests) = sink.tracker.delivered();
            println!("delivered {documents} documents in {requests} requests");
            println!("end to end: {}", percentiles(&sink.tracker.end_to_end()));
        }
        ExitCode::SUCCESS
    })
}

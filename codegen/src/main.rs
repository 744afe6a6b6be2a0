//! `mm-codegen`: a thin command line over the generator library, for inspecting the IR by hand.
//! The pipeline itself runs from `cargo xtask regen`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use codegen::ir::SourceInfo;
use codegen::source::{self, SourceSet};

#[derive(Parser)]
#[command(
    name = "mm-codegen",
    about = "Read Mattermost's Go plugin API into the generator IR"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the IR as JSON.
    Ir {
        /// A module version (v0.4.4) or a local checkout of server/public.
        #[arg(long)]
        mattermost: String,
        /// Print the differential projection instead of the IR.
        #[arg(long)]
        projection: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Ir {
            mattermost,
            projection,
        } => {
            let resolved = match source::resolve(&mattermost) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let set = match SourceSet::from_dir(&resolved.dir) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let info = SourceInfo {
                module: source::MODULE_PATH.into(),
                version: resolved.version,
            };
            match codegen::parse::parse(&set, info) {
                Ok(ir) if projection => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&codegen::projection::project(&ir))
                            .unwrap_or_default()
                    );
                    ExitCode::SUCCESS
                }
                Ok(ir) => {
                    print!("{}", ir.to_json());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

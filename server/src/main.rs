use clap::Parser;
use tracing_subscriber::EnvFilter;
use uplift::cli::{
    run_backup, run_config, run_engine_check, run_fleet, run_hosted_engine, run_sim, run_user, Cli,
    CliError, Command,
};

/// mimalloc instead of glibc's malloc: answering a list of 10,000 hosts makes hundreds of
/// thousands of small allocations, and glibc's spent a third of the time in them (issue 20).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // What Uplift writes (the database, its journal, backups, unpacked archives) holds password
    // hashes and webhook secrets: readable by its owner only.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                let _ = error.print();
                std::process::exit(0);
            }
            // SPEC §2: bad arguments give a one-line error and exit 2.
            // clap's message ends at its first blank line; fold what comes before into one.
            let rendered = error.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see `uplift --help`)", message.join(" "));
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("UPLIFT_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    if let Err(error) = run(&cli) {
        eprintln!("uplift: {error}");
        std::process::exit(error.exit_code());
    }
}

fn run(cli: &Cli) -> Result<(), CliError> {
    if let Command::Fleet(command) = &cli.command {
        return run_fleet(command);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match &cli.command {
            Command::Serve(options) => uplift::server::run(cli, options).await,
            Command::User(command) => run_user(cli, command).await,
            Command::Config(command) => run_config(cli, command).await,
            Command::Sim(command) => run_sim(cli, command).await,
            Command::HostedEngine(command) => run_hosted_engine(cli, command).await,
            Command::Backup(command) => run_backup(cli, command).await,
            Command::Host(command) => uplift::cli::run_host(cli, command).await,
            Command::Db(command) => uplift::cli::db::run_db(command).await,
            Command::EngineUpgradeCheck { now } => {
                if !run_engine_check(cli, *now).await? {
                    // SPEC §2: no upgrade is exit code 1, after the message.
                    std::process::exit(1);
                }
                Ok(())
            }
            Command::Fleet(_) => Ok(()),
        }
    })
}

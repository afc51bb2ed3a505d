//! The `dentex` command line.

use crate::app::{Application, JOB_MAIL_SEND};
use crate::config::{Config, LogFormat};

use anyhow::Context;
use clap::{Parser, Subcommand};
use dentex_audit::AuditLog;
use dentex_domain::{Email, StaffRole};
use dentex_jobs::{EnqueueOptions, Queue};
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dentex",
    version,
    about = "Dentex: the case exchange between dental clinics and labs",
    long_about = "Dentex: the case exchange between dental clinics and labs.\n\n\
        With no configuration it runs on embedded defaults: a SQLite database, an S3-compatible \
        object store and e-mail written to files, all under the data directory (./data).\n\
        Configure production with a TOML file (--config or DENTEX_CONFIG) and DENTEX_… environment \
        variables; see docs/configuration.md.",
    after_help = "Run without a command to serve. Examples:\n  \
        dentex serve --data-dir /tmp/dentex --addr 127.0.0.1:0\n  \
        echo 'a long passphrase' | dentex admin create-staff --email ops@dentex.example --role support --password-stdin\n  \
        dentex jobs list --status dead\n  \
        dentex audit verify"
)]
pub struct Cli {
    /// Configuration file (TOML). Also read from DENTEX_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded defaults' data (overrides `data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the job workers (the default command).
    Serve {
        /// Address to listen on, HOST:PORT; port 0 picks a free one.
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
    },
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the background job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Object-store housekeeping.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Inspect a 3D scan (STL, PLY, OBJ) or draw its preview.
    #[command(subcommand)]
    Mesh(MeshCommand),
}

#[derive(Debug, Subcommand)]
pub enum MeshCommand {
    /// Print the analysis of a scan: counts, bounds, area, volume, watertightness, bodies, units.
    Inspect {
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Draw a shaded PNG preview of a scan.
    Thumbnail {
        file: PathBuf,
        #[arg(short, long, value_name = "PNG")]
        output: PathBuf,
        /// Width and height in pixels.
        #[arg(long, default_value_t = 512)]
        size: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a platform staff account; the password is read from standard input.
    CreateStaff {
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// `support` or `platform_admin`.
        #[arg(long, value_name = "ROLE")]
        role: StaffRole,
        /// Display name (defaults to the part of the address before '@').
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Reseal every stored TOTP secret under the current key (`auth.mfa_key`):
    /// after a rotation (the old key moved to `auth.mfa_previous_keys`),
    /// and for secrets stored before they were sealed.
    RotateMfaKey,
    /// Queue a test e-mail to check the mail configuration; a running server delivers it.
    SendTestMail {
        #[arg(long, value_name = "EMAIL")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this status: queued, running, done or dead.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Compare the bucket with the database both ways: objects no row names,
    /// rows whose object is gone, and abandoned uploads. Reports only,
    /// unless --remove.
    Sweep {
        /// Also delete what was found (credential rows are only ever reported).
        #[arg(long)]
        remove: bool,
        /// Leave objects and rows younger than this many seconds alone.
        #[arg(long, default_value_t = 3600)]
        grace_secs: u64,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every organisation's hash chain and report the first broken link.
    Verify,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    crate::install_crypto_provider();
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return 2;
        }
    };
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(Command::Serve { addr: Some(a) }) = &cli.command {
        config.http.addr = a.clone();
        if let Err(e) = config.validate() {
            eprintln!("configuration error: {e}");
            return 2;
        }
    }
    init_tracing(&config);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = rt.block_on(run(cli.command.unwrap_or(Command::Serve { addr: None }), config));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&config.log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}

async fn open_db(config: &Config, migrate: bool) -> anyhow::Result<sea_orm::DatabaseConnection> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let url = config.database_url();
    let db = dentex_db::connect(&dentex_db::DbOptions::new(url.clone()))
        .await
        .with_context(|| format!("connecting to the database at {}", dentex_db::redact_url(&url)))?;
    if migrate {
        dentex_db::migrate(&db).await.context("applying database migrations")?;
    }
    Ok(db)
}

/// A file read at positions, for [`dentex_mesh::analyze_binary_stl_at`].
struct FileAt {
    file: std::fs::File,
    len: u64,
}

impl dentex_mesh::ReadAt for FileAt {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// The file as a binary STL to analyse where it lies, when it is one: its
/// size fits the count in its header (the order of `dentex_mesh::detect`:
/// PLY is recognised first).
fn binary_stl_at(path: &std::path::Path) -> anyhow::Result<Option<FileAt>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(84);
    (&mut file).take(84).read_to_end(&mut head)?;
    if head.len() < 84 || head.starts_with(b"ply") {
        return Ok(None);
    }
    let n = u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]));
    Ok((len == 84 + 50 * n || len == 85 + 50 * n).then_some(FileAt { file, len }))
}

fn mesh_command(cmd: MeshCommand) -> anyhow::Result<i32> {
    let file = match &cmd {
        MeshCommand::Inspect { file, .. } | MeshCommand::Thumbnail { file, .. } => file.clone(),
    };
    let limits = dentex_mesh::Limits::default();
    let fail = |e: dentex_mesh::MeshError| {
        eprintln!("error: {}: {e}", file.display());
        Ok(2)
    };
    // A binary STL (the scanners' usual export) is analysed from the file,
    // a block at a time; other formats are read whole.
    let stl = match &cmd {
        MeshCommand::Inspect { .. } => binary_stl_at(&file)?,
        MeshCommand::Thumbnail { .. } => None,
    };
    let data = match stl {
        Some(_) => Vec::new(),
        None => std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
    };
    match cmd {
        MeshCommand::Inspect { json, .. } => {
            let inspected = match &stl {
                Some(f) => dentex_mesh::analyze_binary_stl_at(f, &limits).map(|r| (dentex_mesh::Format::StlBinary, r)),
                None => dentex_mesh::inspect(&data, &limits),
            };
            let (format, r) = match inspected {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            if json {
                let mut v = serde_json::to_value(&r)?;
                v["format"] = serde_json::to_value(format)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let f3 = |a: [f64; 3]| format!("{:.6} {:.6} {:.6}", a[0], a[1], a[2]);
                println!("{:<22}{:?}", "format", format);
                println!("{:<22}{}", "triangles", r.triangles);
                println!("{:<22}{}", "vertices (merged)", r.vertices);
                println!("{:<22}{}", "bounds min", f3(r.bbox_min));
                println!("{:<22}{}", "bounds max", f3(r.bbox_max));
                println!("{:<22}{:.6}", "area", r.area);
                match r.volume {
                    Some(v) => println!("{:<22}{v:.6}", "volume"),
                    None => println!("{:<22}— (not watertight)", "volume"),
                }
                println!("{:<22}{}", "watertight", r.watertight);
                println!("{:<22}{}", "winding consistent", r.winding_consistent);
                println!("{:<22}{}", "bodies", r.bodies);
                println!("{:<22}{}", "degenerate triangles", r.degenerate_triangles);
                println!(
                    "{:<22}{:?} ({:?} confidence): {}",
                    "units", r.units.unit, r.units.confidence, r.units.reason
                );
            }
            Ok(0)
        }
        MeshCommand::Thumbnail { output, size, .. } => {
            let mesh = match dentex_mesh::read(&data, &limits) {
                Ok((_, m)) => m,
                Err(e) => return fail(e),
            };
            let png = match dentex_mesh::thumbnail::png(&mesh, size) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(2);
                }
            };
            std::fs::write(&output, png).with_context(|| format!("writing {}", output.display()))?;
            println!("wrote {} ({size}x{size})", output.display());
            Ok(0)
        }
    }
}

async fn run(cmd: Command, config: Config) -> anyhow::Result<i32> {
    match cmd {
        Command::Mesh(m) => mesh_command(m),
        Command::Serve { .. } => serve(config).await,
        Command::Migrate => {
            open_db(&config, true).await?;
            println!("migrations applied");
            Ok(0)
        }
        Command::Admin(AdminCommand::CreateStaff {
            email,
            role,
            name,
            password_stdin: _,
        }) => create_staff(&config, email, role, name).await,
        Command::Admin(AdminCommand::SendTestMail { to }) => {
            let to = Email::parse(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let db = open_db(&config, config.database.migrate_on_start).await?;
            let q = Queue::new(db);
            let id = q
                .enqueue(
                    JOB_MAIL_SEND,
                    &dentex_mail::templates::test_message(to),
                    EnqueueOptions {
                        max_attempts: config.jobs.max_attempts,
                        ..Default::default()
                    },
                )
                .await?;
            println!("queued job {id}; a running server delivers it (see `dentex jobs list`)");
            Ok(0)
        }
        Command::Admin(AdminCommand::RotateMfaKey) => rotate_mfa_key(&config).await,
        Command::Jobs(JobsCommand::List { status, limit }) => list_jobs(&config, status, limit).await,
        Command::Storage(StorageCommand::Sweep {
            remove,
            grace_secs,
            json,
        }) => storage_sweep(&config, remove, grace_secs, json).await,
        Command::Audit(AuditCommand::Verify) => audit_verify(&config).await,
    }
}

async fn create_staff(config: &Config, email: String, role: StaffRole, name: Option<String>) -> anyhow::Result<i32> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let db = open_db(config, config.database.migrate_on_start).await?;
    let display = name.unwrap_or_else(|| email.split('@').next().unwrap_or("staff").to_owned());
    match dentex_accounts::staff::create_staff(&db, &email, &display, role, password).await {
        Ok(id) => {
            println!("created {role} account {id}");
            Ok(0)
        }
        Err(dentex_accounts::staff::StaffError::Invalid(msg)) => {
            eprintln!("error: {msg}");
            Ok(2)
        }
        Err(e) => Err(e.into()),
    }
}

async fn list_jobs(config: &Config, status: Option<String>, limit: u64) -> anyhow::Result<i32> {
    if let Some(s) = &status
        && dentex_jobs::JobStatus::parse(s).is_none()
    {
        eprintln!("error: --status must be queued, running, done or dead");
        return Ok(2);
    }
    let db = open_db(config, config.database.migrate_on_start).await?;
    let jobs = Queue::new(db).list(status.as_deref(), limit.clamp(1, 10_000)).await?;
    println!(
        "{:<36}  {:<14} {:<8} {:>8}  {:<20}  LAST ERROR",
        "ID", "KIND", "STATUS", "ATTEMPTS", "RUN AT"
    );
    for j in &jobs {
        let err: String = j.last_error.as_deref().unwrap_or("").chars().take(60).collect();
        println!(
            "{:<36}  {:<14} {:<8} {:>8}  {:<20}  {}",
            j.id,
            j.kind,
            j.status,
            format!("{}/{}", j.attempts, j.max_attempts),
            j.run_at.format("%Y-%m-%d %H:%M:%S"),
            err
        );
    }
    println!("{} job(s)", jobs.len());
    Ok(0)
}

async fn storage_sweep(config: &Config, remove: bool, grace_secs: u64, json: bool) -> anyhow::Result<i32> {
    let core = crate::app::Core::open(config).await?;
    let now = chrono::Utc::now();
    let grace = chrono::Duration::seconds(i64::try_from(grace_secs).unwrap_or(i64::MAX / 2_000));
    let aborted = dentex_cases::sweep::abandoned_uploads(&core.db, &core.store, now).await?;
    let report = dentex_cases::sweep::orphans(&core.db, &core.store, remove, grace, now).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{:<34}{}", "objects listed", report.objects_listed);
        println!("{:<34}{aborted}", "abandoned uploads aborted");
        println!("{:<34}{}", "objects without a row", report.objects_without_row.len());
        for k in &report.objects_without_row {
            println!("  {k}");
        }
        println!("{:<34}{}", "rows without an object", report.rows_without_object.len());
        for m in &report.rows_without_object {
            println!("  {} {} -> {}", m.what, m.id, m.key);
        }
        match &report.open_uploads_without_row {
            Some(open) => println!("{:<34}{}", "open uploads without a row", open.len()),
            None => println!("{:<34}not listable on this store", "open uploads without a row"),
        }
        println!(
            "{}",
            if remove {
                "removed what was found"
            } else {
                "report only (use --remove to act)"
            }
        );
    }
    Ok(if report.is_clean() || remove { 0 } else { 1 })
}

async fn audit_verify(config: &Config) -> anyhow::Result<i32> {
    let db = open_db(config, config.database.migrate_on_start).await?;
    let report = AuditLog::new(db).verify().await?;
    if report.is_intact() {
        println!(
            "audit trail intact: {} chain(s), {} row(s) verified",
            report.chains, report.rows
        );
        Ok(0)
    } else {
        for b in &report.broken {
            println!(
                "BROKEN chain {} at row {}{}: {}",
                b.chain,
                b.seq,
                b.id.map(|i| format!(" (id {i})")).unwrap_or_default(),
                b.reason
            );
        }
        println!(
            "{} of {} chain(s) broken; {} row(s) read",
            report.broken.len(),
            report.chains,
            report.rows
        );
        Ok(1)
    }
}

async fn serve(config: Config) -> anyhow::Result<i32> {
    let data_dir = config.data_dir.clone();
    let embedded = config.uses_embedded_storage();
    let app = Application::build(config).await?;
    let addr = app.addr();
    println!("listening on http://{addr}");
    println!("API reference: http://{addr}/docs");
    if let Some(m) = app.metrics_addr() {
        println!("metrics: http://{m}/metrics");
    }
    if embedded {
        println!("data: {} (SQLite database, objects, mail)", data_dir.display());
    }
    let token = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received; shutting down");
        token.cancel();
    });
    app.run_until_stopped().await?;
    Ok(0)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `dentex admin rotate-mfa-key`, with a progress bar on standard error.
async fn rotate_mfa_key(config: &Config) -> anyhow::Result<i32> {
    let keys = config.mfa_keys()?;
    let db = open_db(config, config.database.migrate_on_start).await?;
    let done = dentex_accounts::service::mfa::reseal_all(&db, &keys, progress_bar)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.detail))?;
    eprintln!();
    println!(
        "{} TOTP secrets: {} resealed under key `{}`, {} already under it, {} open with no configured key",
        done.total,
        done.resealed,
        keys.current_id(),
        done.current,
        done.unopenable.len()
    );
    for id in &done.unopenable {
        println!("  not resealed: user {id} (give its key in auth.mfa_previous_keys, or have the user enrol again)");
    }
    Ok(i32::from(!done.unopenable.is_empty()))
}

/// `[#####     ] 12/40` on one line of standard error.
fn progress_bar(done: usize, total: usize) {
    let width = 30;
    let filled = (done * width).checked_div(total).unwrap_or(width);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
}

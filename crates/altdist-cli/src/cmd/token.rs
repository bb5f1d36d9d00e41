//! `altdist token`: mint and verify the three kinds of ES256 tokens.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use altdist::jwt::{self, API_AUDIENCE, INSTALL_AUDIENCE};
use altdist::resource::{AppId, BundleId};
use altdist::{
    ApiTokenClaims, DownloadType, InstallTokenClaims, MarketplaceTokenClaims, PrivateKey,
    PublicKey, TokenKind, TokenSigner, Validation, Verification,
};
use serde::Serialize;

use crate::credentials::CredentialArgs;
use crate::output::{self, hinted};

/// Options of `altdist token`.
#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Mint an install verification token, signed with the alternative distribution key.
    Install(InstallOpts),
    /// Mint a marketplace token, signed with the marketplace's alternative distribution key.
    Marketplace(MarketplaceOpts),
    /// Mint an App Store Connect API bearer token from an API key.
    Api(ApiOpts),
    /// Verify a token: exit 0 if valid, 1 if not, printing every check that failed.
    Verify(VerifyOpts),
}

/// Options of `altdist token install`.
#[derive(Debug, clap::Args)]
struct InstallOpts {
    /// The alternative distribution private key.
    #[arg(long, default_value = "private_key.pem")]
    private_key: PathBuf,
    /// The key id App Store Connect gave the uploaded public key (`altdist apps key APP_ID`).
    #[arg(long)]
    kid: String,
    /// Apple item id of the web-distributed app, or of the installing marketplace.
    #[arg(long, value_name = "APPLE_ITEM_ID")]
    iss: String,
    /// Bundle id of the app being installed.
    #[arg(long, value_name = "BUNDLE_ID")]
    bid: String,
    /// First install on the device, or a reinstall.
    #[arg(long, value_enum, default_value = "download")]
    dtype: DtypeArg,
    /// Anti-replay nonce, a UUID [default: a fresh random UUID].
    #[arg(long)]
    nonce: Option<uuid::Uuid>,
    /// Apple item id of the app being installed.
    #[arg(long)]
    iid: Option<String>,
    /// Apple version id of the app being installed.
    #[arg(long)]
    vid: Option<String>,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    ttl: u64,
    /// Print the token with its decoded header and claims as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DtypeArg {
    Download,
    Redownload,
}

/// Options of `altdist token marketplace`.
#[derive(Debug, clap::Args)]
struct MarketplaceOpts {
    /// The marketplace's alternative distribution private key.
    #[arg(long, default_value = "private_key.pem")]
    private_key: PathBuf,
    /// Apple id of the marketplace app.
    #[arg(long, value_name = "MARKETPLACE_APPLE_ID")]
    iss: String,
    /// The app developer's Developer ID.
    #[arg(long, value_name = "DEVELOPER_ID")]
    pid: String,
    /// Key id to put in the header; Apple's marketplace tokens carry none, verifiers find the key through iss.
    #[arg(long)]
    kid: Option<String>,
    /// Seconds until the token expires; less than 7 days (604800).
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    ttl: u64,
    /// Print the token with its decoded header and claims as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `altdist token api`.
#[derive(Debug, clap::Args)]
struct ApiOpts {
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Seconds until the token expires; App Store Connect accepts at most 1200.
    #[arg(long, default_value_t = 1200, value_name = "SECONDS")]
    ttl: u64,
    /// Limit the token to a request, like "GET /v1/apps?filter[platform]=IOS"; repeat for more.
    #[arg(long, value_name = "REQUEST")]
    scope: Vec<String>,
    /// Print the token with its decoded header and claims as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `altdist token verify`.
#[derive(Debug, clap::Args)]
struct VerifyOpts {
    /// The compact JWS, or - to read it from stdin.
    token: String,
    /// Ask an altdist server's sandbox instead: it finds the key by kid among the account's
    /// uploaded keys, checks bid and iss against the app, and detects replayed nonces.
    #[arg(long)]
    server: bool,
    /// With --server: the Apple id of the app being installed (needed with an account-wide key).
    #[arg(long, requires = "server", value_name = "APP_ID")]
    app_id: Option<String>,
    #[command(flatten)]
    connection: super::connection::Connection,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// The public key to check the signature with (a private key file works too).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "public_key.pem",
        conflicts_with = "server"
    )]
    public_key: PathBuf,
    /// The token kind [default: from the token's aud and claims].
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// The bundle id an install token must carry.
    #[arg(long)]
    bid: Option<String>,
    /// The iss the token must carry.
    #[arg(long)]
    iss: Option<String>,
    /// The kid the header must carry.
    #[arg(long)]
    kid: Option<String>,
    /// Seconds of clock difference tolerated for iat and exp.
    #[arg(long, default_value_t = jwt::DEFAULT_CLOCK_SKEW.as_secs(), value_name = "SECONDS")]
    clock_skew: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KindArg {
    Install,
    Marketplace,
    Api,
}

impl From<KindArg> for TokenKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Install => Self::Install,
            KindArg::Marketplace => Self::Marketplace,
            KindArg::Api => Self::Api,
        }
    }
}

/// Runs one `altdist token` subcommand.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    match opts.command {
        Command::Install(opts) => install(opts),
        Command::Marketplace(opts) => marketplace(opts),
        Command::Api(opts) => api(opts),
        Command::Verify(opts) if opts.server => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(verify_on_server(opts)),
        Command::Verify(opts) => verify(opts),
    }
}

fn install(opts: InstallOpts) -> anyhow::Result<ExitCode> {
    if !AppId::is_well_formed(&opts.iss) {
        return Err(hinted(
            format!("--iss {:?} is not an Apple item id", opts.iss),
            "use the app's Apple ID (digits, e.g. 6476788026): App Store Connect > App Information, or `altdist apps list`",
        ));
    }
    if !BundleId::is_well_formed(&opts.bid) {
        return Err(hinted(
            format!("--bid {:?} is not a bundle id", opts.bid),
            "a bundle id is reverse-DNS of letters, digits, '-' and '.', like com.example.app",
        ));
    }
    let mut claims = InstallTokenClaims::new(
        opts.iss,
        opts.bid,
        jwt::unix_now(),
        Duration::from_secs(opts.ttl),
    );
    claims.dtype = match opts.dtype {
        DtypeArg::Download => DownloadType::Download,
        DtypeArg::Redownload => DownloadType::Redownload,
    };
    if let Some(nonce) = opts.nonce {
        claims.nonce = nonce.to_string();
    }
    claims.iid = opts.iid;
    claims.vid = opts.vid;
    let signer = TokenSigner::new(PrivateKey::load(&opts.private_key)?, Some(&opts.kid));
    print_token(&signer.sign(&claims)?, opts.json)
}

fn marketplace(opts: MarketplaceOpts) -> anyhow::Result<ExitCode> {
    let claims = MarketplaceTokenClaims::new(
        opts.iss,
        opts.pid,
        jwt::unix_now(),
        Duration::from_secs(opts.ttl),
    )?;
    let signer = TokenSigner::new(PrivateKey::load(&opts.private_key)?, opts.kid.as_deref());
    print_token(&signer.sign(&claims)?, opts.json)
}

fn api(opts: ApiOpts) -> anyhow::Result<ExitCode> {
    let credentials = opts.credentials.resolve()?;
    let now = jwt::unix_now();
    let lifetime = Duration::from_secs(opts.ttl);
    let claims = match &credentials.issuer_id {
        Some(issuer) => ApiTokenClaims::team(issuer.clone(), now, lifetime),
        None => ApiTokenClaims::individual(now, lifetime),
    }?
    .with_scope(opts.scope);
    let signer = TokenSigner::new(credentials.key, Some(&credentials.key_id));
    print_token(&signer.sign(&claims)?, opts.json)
}

#[derive(Serialize)]
struct MintedToken<'a> {
    token: &'a str,
    header: serde_json::Map<String, serde_json::Value>,
    claims: serde_json::Map<String, serde_json::Value>,
}

fn print_token(token: &str, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let decoded = jwt::decode(token)?;
        output::print_json(&MintedToken {
            token,
            header: decoded.header().clone(),
            claims: decoded.claims().clone(),
        })?;
    } else {
        println!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    kind: TokenKind,
    #[serde(flatten)]
    verification: &'a Verification,
}

fn read_token(argument: &str) -> anyhow::Result<String> {
    if argument == "-" {
        let mut token = String::new();
        std::io::stdin().read_to_string(&mut token)?;
        Ok(token.trim().to_owned())
    } else {
        Ok(argument.to_owned())
    }
}

async fn verify_on_server(opts: VerifyOpts) -> anyhow::Result<ExitCode> {
    let token = read_token(&opts.token)?;
    let kind = opts
        .kind
        .map_or_else(|| guess_kind(&token), TokenKind::from);
    if kind == TokenKind::Api {
        return Err(hinted(
            "the sandbox verifies install and marketplace tokens, not API tokens",
            "pass --kind install or --kind marketplace, or verify an API token offline with --public-key",
        ));
    }
    let client = opts.connection.client(&opts.credentials)?;
    let request = altdist::sandbox::VerifyTokenRequest {
        token,
        app_id: opts.app_id,
    };
    let answer = client.verify_token(kind, &request).await?;
    report(
        &answer.value.verification,
        kind,
        opts.connection.json_requested(),
    )
}

fn verify(opts: VerifyOpts) -> anyhow::Result<ExitCode> {
    let token = read_token(&opts.token)?;
    let key = PublicKey::load(&opts.public_key)?;
    let kind = opts
        .kind
        .map_or_else(|| guess_kind(&token), TokenKind::from);
    let mut validation =
        Validation::new(kind).with_clock_skew(Duration::from_secs(opts.clock_skew));
    validation.expected_kid = opts.kid;
    validation.expected_iss = opts.iss;
    validation.expected_bid = opts.bid;
    let verification = jwt::verify(&token, &key, &validation);
    report(&verification, kind, opts.connection.json_requested())
}

/// Prints every check; exit 0 when all passed, 1 otherwise.
fn report(verification: &Verification, kind: TokenKind, json: bool) -> anyhow::Result<ExitCode> {
    let valid = verification.is_valid();
    if json {
        output::print_json(&Report {
            valid,
            kind,
            verification,
        })?;
    } else {
        for check in &verification.checks {
            println!(
                "{} {:<9} {}",
                if check.ok { "ok  " } else { "FAIL" },
                check.name,
                check.detail
            );
        }
        let failed = verification.failures().count();
        if valid {
            println!("valid {kind} ({} checks passed)", verification.checks.len());
        } else {
            println!(
                "INVALID {kind}: {failed} of {} checks failed",
                verification.checks.len()
            );
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Install tokens have their own audience; marketplace tokens share the API's but carry `pid`.
fn guess_kind(token: &str) -> TokenKind {
    let Ok(decoded) = jwt::decode(token) else {
        return TokenKind::Api;
    };
    match decoded.claim_str("aud") {
        Some(INSTALL_AUDIENCE) => TokenKind::Install,
        Some(API_AUDIENCE) if decoded.claims().contains_key("pid") => TokenKind::Marketplace,
        _ if decoded.claims().contains_key("bid") => TokenKind::Install,
        _ => TokenKind::Api,
    }
}

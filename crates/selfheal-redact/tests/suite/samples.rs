//! Secret-shaped samples made at test time, so that nothing that looks like
//! a real credential is committed (secret scanners would flag it, and a
//! committed sample would tempt someone to test with a real one).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const UPPER_ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWER_HEX: &[u8] = b"0123456789abcdef";
pub const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A small deterministic generator (splitmix64): the same samples on every
/// run, so a failure reproduces.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub fn digits(&mut self, n: usize) -> String {
        self.pick(b"0123456789", n)
    }
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn base62(mut n: u32, width: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// A classic GitHub token: prefix, 30 random base62 characters and the
/// CRC32 of those 30, in base62, left-padded to 6.
pub fn github_token(g: &mut Gen, prefix: &str) -> String {
    let random = g.pick(BASE62, 30);
    let check = base62(crc32(random.as_bytes()), 6);
    format!("{prefix}_{random}{check}")
}

/// Whether a classic GitHub token's checksum holds.
pub fn github_checksum_ok(token: &str) -> bool {
    let body = &token[4..];
    body.len() == 36 && base62(crc32(&body.as_bytes()[..30]), 6) == body[30..]
}

pub fn jwt(g: &mut Gen, alg: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"{}","iat":{},"exp":{}}}"#,
        g.digits(10),
        g.digits(10),
        g.digits(10)
    ));
    format!("{header}.{payload}.{}", g.pick(B64URL, 43))
}

pub fn pem(g: &mut Gen, label: &str, lines: usize, end: bool) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for _ in 0..lines {
        out.push_str(&g.pick(B64, 64));
        out.push('\n');
    }
    out.push_str(&g.pick(B64, 20));
    out.push_str("==");
    if end {
        out.push_str("\n-----END ");
        out.push_str(label);
        out.push_str("-----");
    }
    out
}

pub fn basic(user: &str, password: &str) -> String {
    STANDARD.encode(format!("{user}:{password}"))
}

/// One sample: a log text, the secret inside it and the kind it must be
/// reported as.
#[derive(Debug, Clone)]
pub struct Sample {
    pub line: String,
    pub secret: String,
    pub kind: &'static str,
}

fn s(kind: &'static str, secret: String, line: String) -> Sample {
    Sample { line, secret, kind }
}

/// The corpus: every format, several embeddings each.
pub fn corpus(seed: u64) -> Vec<Sample> {
    let g = &mut Gen::new(seed);
    let mut out = Vec::new();

    for (i, prefix) in ["ghp", "gho", "ghu", "ghs", "ghr"].into_iter().enumerate() {
        let t = github_token(g, prefix);
        let line = match i {
            0 => format!("+ git clone https://x-access-token:{t}@github.com/acme/app.git"),
            1 => format!("export GH_TOKEN={t}"),
            2 => format!("2024-05-01T10:00:00.123Z Using token {t} for api.github.com"),
            3 => format!(
                "curl -sS -H \"Authorization: token {t}\" https://api.github.com/repos/acme/app"
            ),
            _ => format!("{{\"token\":\"{t}\",\"expires_at\":\"2024-05-01T11:00:00Z\"}}"),
        };
        out.push(s("github-token", t, line));
    }
    for line in [
        "##[debug]Evaluating: secrets.PAT => {}",
        "remote: https://github.com/acme/app  pushed with {} (fine-grained)",
        "GITHUB_PAT={}; export GITHUB_PAT",
    ] {
        let t = format!("github_pat_{}_{}", g.pick(BASE62, 22), g.pick(BASE62, 59));
        out.push(s("github-pat", t.clone(), line.replace("{}", &t)));
    }
    for (i, line) in [
        "openai.AuthenticationError: Incorrect API key provided: {}.",
        "[reason] POST https://api.openai.com/v1/chat/completions key={}",
        "OPENAI_API_KEY={}",
        "    client = OpenAI(api_key=\"{}\")",
    ]
    .into_iter()
    .enumerate()
    {
        let t = match i {
            0 => format!("sk-{}", g.pick(BASE62, 48)),
            1 => format!(
                "sk-proj-{}T3BlbkFJ{}",
                g.pick(B64URL, 74),
                g.pick(B64URL, 74)
            ),
            2 => format!("sk-svcacct-{}", g.pick(B64URL, 120)),
            _ => format!("sk-{}T3BlbkFJ{}", g.pick(BASE62, 20), g.pick(BASE62, 20)),
        };
        out.push(s("openai-key", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "anthropic.AuthenticationError: invalid x-api-key {}",
        "ANTHROPIC_API_KEY={}",
        "  -H 'x-api-key: {}' \\",
    ] {
        let t = format!("sk-ant-api03-{}AA", g.pick(B64URL, 93));
        out.push(s("anthropic-key", t.clone(), line.replace("{}", &t)));
    }
    for (prefix, line) in [
        ("AKIA", "aws_access_key_id = {}"),
        (
            "AKIA",
            "The AWS Access Key Id you provided ({}) does not exist in our records.",
        ),
        ("ASIA", "export AWS_ACCESS_KEY_ID={}"),
        ("ASIA", "\"AccessKeyId\": \"{}\","),
    ] {
        let t = format!("{prefix}{}", g.pick(UPPER_ALNUM, 16));
        out.push(s("aws-access-key-id", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "aws_secret_access_key = {}",
        "export AWS_SECRET_ACCESS_KEY={}",
        "  \"aws_secret_access_key\": \"{}\",",
        "--aws-secret-access-key {}",
    ] {
        let t = g.pick(B64, 40);
        let line = if line.starts_with("--") {
            // A flag with a space, not an assignment: only `=`/`:` count, so
            // give it the `=` form the CLI also accepts.
            format!("--aws-secret-access-key={t}")
        } else {
            line.replace("{}", &t)
        };
        out.push(s("aws-secret-key", t, line));
    }
    for line in [
        "https://maps.googleapis.com/maps/api/geocode/json?address=x&key={}",
        "GOOGLE_API_KEY={}",
        "E/Firebase: apiKey: \"{}\"",
    ] {
        let t = format!("AIza{}", g.pick(B64URL, 35));
        out.push(s("google-api-key", t.clone(), line.replace("{}", &t)));
    }
    for (i, line) in [
        "slack: posting with {} to #ci",
        "SLACK_BOT_TOKEN={}",
        "Error: An API error occurred: invalid_auth (token {})",
        "SLACK_APP_TOKEN={}",
    ]
    .into_iter()
    .enumerate()
    {
        let t = match i {
            0 => format!(
                "xoxb-{}-{}-{}",
                g.digits(12),
                g.digits(13),
                g.pick(BASE62, 24)
            ),
            1 => format!(
                "xoxb-{}-{}-{}",
                g.digits(11),
                g.digits(12),
                g.pick(BASE62, 24)
            ),
            2 => format!(
                "xoxp-{}-{}-{}-{}",
                g.digits(12),
                g.digits(12),
                g.digits(13),
                g.pick(LOWER_HEX, 32)
            ),
            _ => format!(
                "xapp-1-A{}-{}-{}",
                g.pick(UPPER_ALNUM, 10),
                g.digits(13),
                g.pick(LOWER_HEX, 64)
            ),
        };
        out.push(s("slack-token", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "curl -X POST -d @payload.json https://hooks.slack.com/services/{}",
        "notify: webhook_url=https://hooks.slack.com/services/{} status=failed",
    ] {
        let t = format!(
            "T{}/B{}/{}",
            g.pick(UPPER_ALNUM, 8),
            g.pick(UPPER_ALNUM, 10),
            g.pick(BASE62, 24)
        );
        out.push(s("slack-webhook", t.clone(), line.replace("{}", &t)));
    }
    for (prefix, line) in [
        (
            "sk_live_",
            "Stripe::AuthenticationError: Invalid API Key provided: {}",
        ),
        ("rk_live_", "STRIPE_RESTRICTED={}"),
        ("sk_test_", "stripe.api_key = '{}'"),
    ] {
        let t = format!("{prefix}{}", g.pick(BASE62, 99));
        out.push(s("stripe-key", t.clone(), line.replace("{}", &t)));
    }
    for (label, lines, end) in [
        ("RSA PRIVATE KEY", 12, true),
        ("PRIVATE KEY", 8, true),
        ("EC PRIVATE KEY", 2, true),
        ("OPENSSH PRIVATE KEY", 6, true),
        ("ENCRYPTED PRIVATE KEY", 10, true),
        ("PGP PRIVATE KEY BLOCK", 5, true),
        ("RSA PRIVATE KEY", 4, false),
    ] {
        let t = pem(g, label, lines, end);
        let line = format!("+ echo \"$DEPLOY_KEY\"\n{t}\n+ chmod 600 ~/.ssh/id_rsa");
        out.push(s("private-key", t, line));
    }
    for (alg, line) in [
        ("HS256", "Set-Cookie: session={}; Path=/; HttpOnly"),
        ("RS256", "{\"id_token\":\"{}\",\"token_type\":\"Bearer\"}"),
        ("ES256", "DEBUG oidc: got assertion {} from provider"),
    ] {
        let t = jwt(g, alg);
        out.push(s("jwt", t.clone(), line.replace("{}", &t)));
    }
    for (scheme, user, host) in [
        ("https", "deploy", "registry.example.com/simple/"),
        ("postgres", "app", "db:5432/app_test"),
        ("amqp", "guest", "rabbitmq:5672/%2F"),
        ("redis", "default", "cache:6379/0"),
    ] {
        let pw = format!("{}!{}", g.pick(BASE62, 10), g.pick(BASE62, 6));
        let line = format!("Connecting to {scheme}://{user}:{pw}@{host} ...");
        out.push(s("url-password", pw, line));
    }
    {
        let t = g.pick(BASE62, 40);
        out.push(s(
            "authorization",
            t.clone(),
            format!("> Authorization: Bearer {t}"),
        ));
        let b = basic("ci", &g.pick(BASE62, 16));
        out.push(s(
            "authorization",
            b.clone(),
            format!("[http] request headers: {{'authorization': 'Basic {b}'}}"),
        ));
        let b = basic("proxy", &g.pick(BASE62, 12));
        out.push(s(
            "authorization",
            b.clone(),
            format!("Proxy-Authorization: Basic {b}"),
        ));
    }
    for line in [
        "MYSQL_ROOT_PASSWORD={}",
        "  password: \"{}\"",
        "+ mvn deploy -Drepo.password={} -B",
        "{\"username\": \"ci\", \"passwd\": \"{}\"}",
        "client_secret={}&grant_type=client_credentials",
        "db:\n  secret: {}\n",
        "spring.datasource.password={}",
    ] {
        let t = format!("{}{}", g.pick(BASE62, 12), g.digits(2));
        out.push(s("password", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "//registry.npmjs.org/:_authToken={}",
        "npm notice using token {} from NPM_CONFIG",
    ] {
        let t = format!("npm_{}", g.pick(BASE62, 36));
        out.push(s("npm-token", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "twine upload -u __token__ -p {} dist/*",
        "[pypi]\n  username = __token__\n  token = {}\n",
    ] {
        let t = format!("pypi-AgEIcHlwaS5vcmc{}", g.pick(B64URL, 120));
        out.push(s("pypi-token", t.clone(), line.replace("{}", &t)));
    }
    for line in ["cargo login {}", "CARGO_REGISTRY_TOKEN={} cargo publish"] {
        let t = format!("cio{}", g.pick(BASE62, 32));
        out.push(s("crates-io-token", t.clone(), line.replace("{}", &t)));
    }
    for line in [
        "git remote set-url origin https://oauth2:{}@gitlab.com/acme/app.git",
        "PRIVATE-TOKEN: {}",
    ] {
        let t = format!("glpat-{}", g.pick(B64URL, 20));
        out.push(s("gitlab-token", t.clone(), line.replace("{}", &t)));
    }
    out
}

//! The crypto limit, measured in the same run as every scenario: RSA-2048
//! PKCS#1 v1.5 / SHA-256 signatures and verifications per second on one core, with
//! the `rsa` crate (what the node used before) and with aws-lc-rs (what it uses now,
//! through `activitypub::signatures`), over the same signing string.

use std::time::{Duration, Instant};

use maillage::activitypub::signatures::{SigningKey, VerifyingKey};
use rsa::pkcs1v15::Pkcs1v15Sign;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::report::Report;

/// Operations per second on one core.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `rsa` crate, blinded signing.
    pub rsa_sign: f64,
    /// `rsa` crate verification.
    pub rsa_verify: f64,
    /// aws-lc-rs signing (the node's).
    pub sign: f64,
    /// aws-lc-rs verification (the node's).
    pub verify: f64,
    /// Mean time to generate an RSA-2048 key with the `rsa` crate, ms.
    pub rsa_keygen_ms: f64,
    /// Mean time to generate one with aws-lc-rs (the node's), ms.
    pub keygen_ms: f64,
}

fn mean_ms(runs: u32, mut op: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..runs {
        op();
    }
    started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn rate(budget: Duration, mut op: impl FnMut()) -> f64 {
    let started = Instant::now();
    let mut n = 0_u64;
    while started.elapsed() < budget {
        op();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Measures the four rates, one second each, on the calling thread.
pub async fn measure() -> anyhow::Result<Limits> {
    let pair = maillage::service::keys::generate_keypair().await?;
    tokio::task::spawn_blocking(move || {
        let private = maillage::activitypub::signatures::parse_private_key(&pair.private_key)?;
        let public = private.to_public_key();
        let signing = SigningKey::from_rsa(&private)?;
        let verifying = VerifyingKey::from_rsa(&public)?;
        let message = b"(request-target): post /inbox\nhost: ville.example\ndate: Sun, 29 Nov 2026 12:00:00 GMT\ndigest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ncontent-type: application/activity+json";
        let hashed = Sha256::digest(message);
        let signature = signing.sign(message)?;
        let budget = Duration::from_secs(1);
        let rsa_sign = rate(budget, || {
            private
                .sign_with_rng(&mut rsa::rand_core::OsRng, Pkcs1v15Sign::new::<Sha256>(), &hashed)
                .expect("sign");
        });
        let rsa_verify = rate(budget, || {
            public
                .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &signature)
                .expect("verify");
        });
        let sign = rate(budget, || {
            signing.sign(message).expect("sign");
        });
        let verify = rate(budget, || {
            assert!(
                maillage::activitypub::signatures::verify_raw(&verifying, message, &signature),
                "verify"
            );
        });
        let rsa_keygen_ms = mean_ms(3, || {
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("keygen");
        });
        let keygen_ms = mean_ms(3, || {
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("keygen");
        });
        Ok(Limits {
            rsa_sign,
            rsa_verify,
            sign,
            verify,
            rsa_keygen_ms,
            keygen_ms,
        })
    })
    .await?
}

impl Limits {
    /// Adds the limits to a report.
    pub fn report(&self, report: &mut Report) {
        report.line(
            "crypto limit, 1 core: sign / verify (aws-lc-rs, the node's)",
            format!("{:.0}/s / {:.0}/s", self.sign, self.verify),
        );
        report.line(
            "crypto, 1 core: sign / verify (`rsa` crate, before)",
            format!(
                "{:.0}/s / {:.0}/s (aws-lc ×{:.1} / ×{:.1})",
                self.rsa_sign,
                self.rsa_verify,
                self.sign / self.rsa_sign,
                self.verify / self.rsa_verify
            ),
        );
        report.line(
            "crypto: RSA-2048 key generation, mean of 3",
            format!(
                "aws-lc-rs {:.0} ms (the node's), `rsa` crate {:.0} ms",
                self.keygen_ms, self.rsa_keygen_ms
            ),
        );
        report.json(
            "crypto_per_core",
            json!({"aws_lc_sign": self.sign, "aws_lc_verify": self.verify,
                   "rsa_crate_sign": self.rsa_sign, "rsa_crate_verify": self.rsa_verify,
                   "aws_lc_keygen_ms": self.keygen_ms, "rsa_crate_keygen_ms": self.rsa_keygen_ms}),
        );
    }
}

//! `cws templates keygen` and `cws templates sign`: a template publisher's key, and the
//! signatures every file of a templates directory needs (`CWS_TEMPLATES_DIR`, checked against
//! `CWS_TEMPLATE_PUBLISHERS` when any binary starts). Neither reads the deployment's settings,
//! so a directory can be signed before the binaries that check it start.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use domain::template_trust::{PublisherName, TemplateSigner};

#[derive(Subcommand)]
pub enum TemplatesCommand {
    /// Make a publisher key: writes its secret to OUT (readable by you alone; it is the
    /// CWS_TEMPLATE_SIGNING_KEY value) and prints its CWS_TEMPLATE_PUBLISHERS entry.
    Keygen {
        /// The publisher's name, e.g. stanford-rc: lowercase letters, digits and dashes.
        name: String,
        /// Where the secret goes; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign template files and pricing.yml: writes FILE.sig beside each FILE.
    Sign {
        /// The file holding the secret (as `keygen --out` wrote it); else
        /// CWS_TEMPLATE_SIGNING_KEY.
        #[arg(long)]
        key_file: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(command: TemplatesCommand) -> anyhow::Result<()> {
    match command {
        TemplatesCommand::Keygen { name, out } => {
            let name: PublisherName = name.parse()?;
            let signer = worker::keys::generate_template_signer(name);
            write_secret(&out, &signer.secret_entry())?;
            println!(
                "Secret written to {} (set CWS_TEMPLATE_SIGNING_KEY to its content on the workers that sign approved templates, or keep it to sign a templates directory with `cws templates sign --key-file`).\nAdd to CWS_TEMPLATE_PUBLISHERS on every binary:\n{}",
                out.display(),
                signer.publisher_entry()
            );
            Ok(())
        }
        TemplatesCommand::Sign { key_file, files } => {
            let secret = match key_file {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => std::env::var("CWS_TEMPLATE_SIGNING_KEY")
                    .context("no key: give --key-file, or set CWS_TEMPLATE_SIGNING_KEY")?,
            };
            let signer: TemplateSigner = secret.trim().parse()?;
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let mut signature = file.clone().into_os_string();
                signature.push(".sig");
                let signature = PathBuf::from(signature);
                std::fs::write(&signature, signer.sign(&text))
                    .with_context(|| format!("writing {}", signature.display()))?;
                println!("{}: signed by {}", file.display(), signer.name);
            }
            Ok(())
        }
    }
}

/// Writes the secret to a new file only its owner can read.
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} exists: a key is never overwritten", path.display())
        }
        Err(error) => return Err(error).with_context(|| format!("creating {}", path.display())),
    };
    writeln!(file, "{secret}").with_context(|| format!("writing {}", path.display()))
}

//! Workspace templates: what a template name and a size resolve to.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Serialize};

use crate::efs_utils::EfsUtils;
use crate::pricing::{PricingError, PricingTable};
use crate::template_trust::{PublisherName, Publishers, SignatureProblem};

/// A workspace size, as typed after `--size`. Each template maps sizes to instance types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Size {
    S,
    M,
    L,
    XL,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::S, Size::M, Size::L, Size::XL];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::S => "S",
            Size::M => "M",
            Size::L => "L",
            Size::XL => "XL",
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text after `--size` was not one of S, M, L, XL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown size `{0}`: choose one of S, M, L, XL")]
pub struct UnknownSize(pub String);

impl FromStr for Size {
    type Err = UnknownSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "S" | "SMALL" => Ok(Size::S),
            "M" | "MEDIUM" => Ok(Size::M),
            "L" | "LARGE" => Ok(Size::L),
            "XL" | "XLARGE" => Ok(Size::XL),
            _ => Err(UnknownSize(s.to_owned())),
        }
    }
}

/// How people reach a template's workspaces: a shell over SSH, or the web services it runs,
/// each forwarded to their own machine through Session Manager.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionType {
    #[default]
    Ssh,
    Web,
}

/// What a template's workspaces run on. Every command treats them alike: what differs is
/// behind the cloud port ([`crate::ports::Cloud`]) each platform has an adapter for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// An EC2 instance with the research user's first-boot script.
    #[default]
    Ec2,
    /// A private JupyterLab space of the research user in the project's SageMaker Studio
    /// domain, on an `ml.*` instance; `connect` sends a presigned sign-in link by DM.
    SagemakerStudio,
    /// The research user's SageMaker Canvas (no-code ML) in the project's Studio domain:
    /// SageMaker runs one per person and domain, billed by the session hour
    /// ([`crate::studio::CANVAS_SESSION`]); `connect` sends a sign-in link by DM.
    SagemakerCanvas,
}

impl Platform {
    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Platform::Ec2 => "EC2",
            Platform::SagemakerStudio => "SageMaker Studio",
            Platform::SagemakerCanvas => "SageMaker Canvas",
        }
    }

    /// Whether its workspaces are opened with a sign-in link (which signs in as the owner)
    /// rather than over Session Manager.
    pub fn signs_in_by_link(self) -> bool {
        self != Platform::Ec2
    }

    /// Whether it shuts its idle workspaces down itself (SageMaker Studio's idle shutdown of a
    /// space's JupyterLab), given the project's policy at launch and when it changes. Canvas
    /// has no such setting, and CloudWatch no activity of its apps: cws cannot see it idle.
    pub fn shuts_down_idle(self) -> bool {
        self == Platform::SagemakerStudio
    }

    /// Whether a person may have only one of its workspaces per project, region and account
    /// (SageMaker runs one Canvas per user profile): a second is refused before anything is
    /// made, naming the first.
    pub fn one_per_person(self) -> bool {
        self == Platform::SagemakerCanvas
    }

    /// Why cws cannot run a script on (or snapshot) its workspaces, where it cannot: a Studio
    /// space runs nothing from outside and has no volumes of its own to copy. `None` on EC2,
    /// whose instances take Session Manager commands (mounts, downloads, SSH keys).
    pub fn no_commands(self) -> Option<&'static str> {
        match self {
            Platform::Ec2 => None,
            Platform::SagemakerStudio => Some(
                "it is a SageMaker Studio space, which runs no commands from cws and has no \
                 volumes to snapshot: open it with `/cws connect` and work in JupyterLab",
            ),
            Platform::SagemakerCanvas => Some(
                "it is a SageMaker Canvas app, which runs no commands from cws and has no \
                 volumes to snapshot: open it with `/cws connect` and work in Canvas",
            ),
        }
    }
}

/// The web services user data knows how to run, each behind the workspace's own password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Jupyter,
    Rstudio,
    /// VS Code in the browser, through code-server.
    Vscode,
}

impl ServiceKind {
    /// The word in templates and unit names.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Jupyter => "jupyter",
            ServiceKind::Rstudio => "rstudio",
            ServiceKind::Vscode => "vscode",
        }
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            ServiceKind::Jupyter => "Jupyter",
            ServiceKind::Rstudio => "RStudio Server",
            ServiceKind::Vscode => "VS Code (code-server)",
        }
    }

    /// Whether its login asks for the research user's name as well as the password: RStudio
    /// Server signs in Unix users.
    pub fn asks_username(self) -> bool {
        self == ServiceKind::Rstudio
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A web service a template runs for the research user on `port`, bound to the instance's
/// loopback only. `name` is the key older template files used for `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(alias = "name")]
    pub kind: ServiceKind,
    pub port: u16,
}

/// A template's image: AMI ids are regional and replaced as images are patched, so a template
/// names the public SSM parameter its publisher keeps current in every region (Canonical's,
/// AWS's), read at launch; `pinned` fixes the id in a region where a site must.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub parameter: String,
    #[serde(default)]
    pub pinned: BTreeMap<String, String>,
}

/// Where one launch's image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageSource {
    /// Read at launch from this public SSM parameter, in the launch's region.
    Parameter(String),
    /// This AMI id, as the template pins it for the region.
    Pinned(String),
    /// The platform's own, kept current by AWS (SageMaker Distribution in Studio).
    Managed,
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Parameter(name) => write!(f, "SSM parameter {name}"),
            ImageSource::Pinned(ami) => write!(f, "pinned image {ami}"),
            ImageSource::Managed => f.write_str("the platform's own image"),
        }
    }
}

/// One workspace template, as written in `templates/*.yml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub os: String,
    /// Where the workspaces run; EC2 unless it says otherwise.
    #[serde(default)]
    pub platform: Platform,
    /// The EC2 image; a managed platform brings its own, so its templates name none.
    #[serde(default)]
    pub image: Option<ImageSpec>,
    /// Where the template is offered; a launch elsewhere is refused before any AWS call.
    pub regions: Vec<String>,
    pub default_size: Size,
    pub sizes: BTreeMap<Size, String>,
    pub hibernation: bool,
    #[serde(default)]
    pub packages: Vec<String>,
    /// Python packages pip installs system-wide after the apt packages: what the Ubuntu
    /// archive lacks (PyTorch).
    #[serde(default)]
    pub pip_packages: Vec<String>,
    /// Where pip finds them instead of PyPI (`https://…`): PyTorch's CPU-only wheels, say.
    #[serde(default)]
    pub pip_index_url: Option<String>,
    /// `web`: `connect` sends each service's port forward, address and password by direct
    /// message; `ssh` (the default): the SSH line only.
    #[serde(default)]
    pub connection_type: ConnectionType,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// How amazon-efs-utils gets onto its machines; unset: the usual way for its `os`.
    #[serde(default)]
    pub efs_utils: Option<EfsUtils>,
    /// The publisher's version of the template, shown by `templates list|show`.
    #[serde(default)]
    pub version: Option<String>,
    /// What changed in each version, newest first.
    #[serde(default)]
    pub changelog: Vec<ChangelogEntry>,
}

/// One version's changes, as a template's `changelog` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogEntry {
    pub version: String,
    pub changes: String,
}

/// Where a template of the catalog comes from: who vouches for it, and its text as published
/// (what a proposal's diff is taken against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub publisher: Publisher,
    pub text: Arc<str>,
}

/// Who vouches for a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// Compiled into the binaries from `templates/`: as trusted as the binaries.
    Shipped,
    /// Signed by a publisher of `CWS_TEMPLATE_PUBLISHERS`, in `CWS_TEMPLATES_DIR`.
    Signed(PublisherName),
    /// Proposed in chat, approved by a deployment admin and signed by the deployment's key.
    Approved {
        publisher: PublisherName,
        approved_by: String,
        at: String,
    },
}

impl fmt::Display for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Publisher::Shipped => f.write_str("cws (shipped)"),
            Publisher::Signed(name) => write!(f, "{name}"),
            Publisher::Approved {
                publisher,
                approved_by,
                at,
            } => write!(f, "{publisher}, approved by {approved_by} {at}"),
        }
    }
}

/// One file of a templates directory: its name, text and the text of its `.sig` file, if any.
#[derive(Debug, Clone, Copy)]
pub struct SignedFile<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub signature: Option<&'a str>,
}

impl Template {
    pub fn instance_type(&self, size: Size) -> Option<&str> {
        self.sizes.get(&size).map(String::as_str)
    }

    /// Where the image for `region` comes from, if the template is offered there.
    pub fn image_in(&self, region: &str) -> Option<ImageSource> {
        if !self.regions.iter().any(|r| r == region) {
            return None;
        }
        let Some(image) = &self.image else {
            return Some(ImageSource::Managed);
        };
        Some(match image.pinned.get(region) {
            Some(ami) => ImageSource::Pinned(ami.clone()),
            None => ImageSource::Parameter(image.parameter.clone()),
        })
    }

    pub fn offered_sizes(&self) -> Vec<Size> {
        self.sizes.keys().copied().collect()
    }

    pub fn offered_regions(&self) -> Vec<&str> {
        self.regions.iter().map(String::as_str).collect()
    }

    /// Its own `efs_utils`, else the default for its `os` ([`EfsUtils::default_for`]).
    pub fn efs_utils(&self) -> Option<EfsUtils> {
        self.efs_utils
            .clone()
            .or_else(|| EfsUtils::default_for(&self.os))
    }
}

/// The template asked for does not exist; carries what does, so the reply can list it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown template `{requested}`")]
pub struct UnknownTemplate {
    pub requested: String,
    pub available: Vec<String>,
}

/// What is wrong with one template file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Yaml(serde_yaml::Error),
    #[error("template `{0}`: default size is not one of its sizes")]
    DefaultSizeMissing(String),
    #[error("template `{name}` is defined twice (also in {first})")]
    Duplicate { name: String, first: String },
    #[error("template `{template}`: {problem}")]
    Image { template: String, problem: String },
    #[error(
        "template `{0}`: no known way to install amazon-efs-utils on its os `{1}`; give it `efs_utils`"
    )]
    NoEfsUtils(String, String),
    #[error(
        "template `{template}`: size {size} is {instance_type}, which pricing.yml has no \
         on_demand_hourly price for in {regions}: add one, or offer the template elsewhere"
    )]
    Unpriced {
        template: String,
        size: Size,
        instance_type: String,
        regions: String,
    },
    #[error("{0}")]
    Pricing(PricingError),
    #[error(
        "not found: a templates directory needs the prices its sizes are charged at (start from \
         the shipped templates/pricing.yml)"
    )]
    NoPricing,
    #[error("no template files: the directory needs at least one template beside pricing.yml")]
    NoTemplates,
    #[error("{0}")]
    Signature(SignatureProblem),
    #[error(
        "templates from a directory must be signed by a publisher the deployment trusts: set \
         CWS_TEMPLATE_PUBLISHERS (`cws templates keygen NAME` makes a key, `cws templates sign` \
         signs the files)"
    )]
    NoPublishers,
    #[error("template `{0}`: `connection_type: web` needs at least one entry in `services`")]
    WebWithoutServices(String),
    #[error(
        "template `{0}`: its services need `connection_type: web`, which is how their password \
         reaches the person"
    )]
    ServicesWithoutWeb(String),
    #[error("template `{template}`: two services on port {port}")]
    PortTwice { template: String, port: u16 },
    #[error("template `{template}` runs on {platform}, which takes no {what}")]
    NotOnPlatform {
        template: String,
        platform: &'static str,
        what: String,
    },
}

/// A problem in one file of a templates directory, named by the file it is in.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct FileProblem {
    pub file: String,
    pub problem: CatalogError,
}

/// Every template this deployment offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    templates: Vec<Template>,
    /// Beside `templates`, one for one.
    provenance: Vec<Provenance>,
}

/// The shipped templates as (file name, text), compiled in so that a deployment with no
/// `CWS_TEMPLATES_DIR` needs no files beside its binaries.
const BUILTIN_TEMPLATES: [(&str, &str); 8] = [
    (
        "python-machine-learning.yml",
        include_str!("../../templates/python-machine-learning.yml"),
    ),
    (
        "r-research-environment.yml",
        include_str!("../../templates/r-research-environment.yml"),
    ),
    (
        "gpu-ml-workstation.yml",
        include_str!("../../templates/gpu-ml-workstation.yml"),
    ),
    (
        "bioinformatics.yml",
        include_str!("../../templates/bioinformatics.yml"),
    ),
    (
        "rstudio-server.yml",
        include_str!("../../templates/rstudio-server.yml"),
    ),
    (
        "vscode-server.yml",
        include_str!("../../templates/vscode-server.yml"),
    ),
    (
        "sagemaker-studio.yml",
        include_str!("../../templates/sagemaker-studio.yml"),
    ),
    (
        "sagemaker-canvas.yml",
        include_str!("../../templates/sagemaker-canvas.yml"),
    ),
];

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_sources(&BUILTIN_TEMPLATES)
        .expect("templates/*.yml are compiled in and checked by the catalog tests")
});

impl Catalog {
    /// The templates shipped in `templates/`: what a deployment offers unless
    /// `CWS_TEMPLATES_DIR` names its own.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// The catalog of template files given as (file name, text), one template a file; on
    /// failure, every problem of every file, each with its file's name.
    pub fn from_sources<'a>(files: &[(&'a str, &'a str)]) -> Result<Catalog, Vec<FileProblem>> {
        let (templates, problems) = parse_templates(files);
        if problems.is_empty() {
            Ok(Catalog::of(templates, |_| Publisher::Shipped))
        } else {
            Err(problems)
        }
    }

    fn of(templates: Vec<Parsed<'_>>, publisher: impl Fn(&str) -> Publisher) -> Catalog {
        let (templates, provenance) = templates
            .into_iter()
            .map(|parsed| {
                let provenance = Provenance {
                    publisher: publisher(parsed.file),
                    text: Arc::from(parsed.text),
                };
                (parsed.template, provenance)
            })
            .unzip();
        Catalog {
            templates,
            provenance,
        }
    }

    /// This catalog with `published` added, each replacing a template of the same name or
    /// slug: what the deployment's admins approved since the binaries started.
    pub fn with_published(&self, published: Vec<(Template, Provenance)>) -> Catalog {
        let mut catalog = self.clone();
        for (template, provenance) in published {
            let same = catalog.templates.iter().position(|t| {
                t.name.eq_ignore_ascii_case(&template.name) || t.slug == template.slug
            });
            match same {
                Some(index) => {
                    catalog.templates[index] = template;
                    catalog.provenance[index] = provenance;
                }
                None => {
                    catalog.templates.push(template);
                    catalog.provenance.push(provenance);
                }
            }
        }
        catalog
    }

    /// Who vouches for `template` (one of this catalog's), and its text.
    pub fn provenance(&self, template: &Template) -> Option<&Provenance> {
        self.templates
            .iter()
            .position(|t| t.slug == template.slug)
            .map(|index| &self.provenance[index])
    }

    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// How a workspace of template `template` (name or slug) gets amazon-efs-utils; `None` for
    /// a template no longer in the catalog.
    pub fn efs_utils(&self, template: &str) -> Option<EfsUtils> {
        self.find(template).ok().and_then(Template::efs_utils)
    }

    /// Finds a template by its display name (any case) or its slug.
    pub fn find(&self, requested: &str) -> Result<&Template, UnknownTemplate> {
        let wanted = requested.trim();
        self.templates
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(wanted) || t.slug.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownTemplate {
                requested: wanted.to_owned(),
                available: self.templates.iter().map(|t| t.name.clone()).collect(),
            })
    }
}

/// The file of a templates directory that holds the prices; every other file is a template.
pub const PRICING_FILE: &str = "pricing.yml";

/// What a deployment offers: its templates and the prices their sizes are charged at. The bot
/// and the workers each read it once at start; clones share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offerings {
    pub catalog: Arc<Catalog>,
    pub pricing: Arc<PricingTable>,
}

impl Offerings {
    /// The shipped templates and prices.
    pub fn builtin() -> Offerings {
        Offerings {
            catalog: Arc::new(Catalog::builtin().clone()),
            pricing: Arc::new(PricingTable::builtin().clone()),
        }
    }

    /// The offerings of a templates directory's files: [`PRICING_FILE`] holds the prices and
    /// every other file one template. Every file must be signed by one of `publishers` (a
    /// template decides what runs on the lead account's machines, the prices what a launch
    /// may cost), and every size of every template must have a price wherever the template is
    /// offered, so that no launch or cost report meets a size it cannot charge. On failure,
    /// every problem of every file.
    pub fn from_files(
        files: &[SignedFile<'_>],
        publishers: &Publishers,
    ) -> Result<Offerings, Vec<FileProblem>> {
        let problem = |file: &str, problem| FileProblem {
            file: file.to_owned(),
            problem,
        };
        let mut problems = Vec::new();
        if publishers.is_empty() {
            problems.push(problem("*.yml", CatalogError::NoPublishers));
        }
        let mut signers = std::collections::HashMap::new();
        let mut trusted = Vec::with_capacity(files.len());
        for file in files {
            if publishers.is_empty() {
                trusted.push(*file);
                continue;
            }
            match publishers.verify(file.text, file.signature) {
                Ok(publisher) => {
                    signers.insert(file.name, publisher);
                    trusted.push(*file);
                }
                Err(signature) => {
                    problems.push(problem(file.name, CatalogError::Signature(signature)));
                }
            }
        }
        let pricing = match trusted.iter().find(|file| file.name == PRICING_FILE) {
            None if files.iter().any(|file| file.name == PRICING_FILE) => None,
            None => {
                problems.push(problem(PRICING_FILE, CatalogError::NoPricing));
                None
            }
            Some(file) => PricingTable::from_yaml(file.text)
                .map_err(|error| problems.push(problem(file.name, CatalogError::Pricing(error))))
                .ok(),
        };
        let template_files: Vec<(&str, &str)> = trusted
            .iter()
            .filter(|file| file.name != PRICING_FILE)
            .map(|file| (file.name, file.text))
            .collect();
        if !files.iter().any(|file| file.name != PRICING_FILE) {
            problems.push(problem("*.yml", CatalogError::NoTemplates));
        }
        let (templates, mut found) = parse_templates(&template_files);
        problems.append(&mut found);
        if let Some(pricing) = &pricing {
            for parsed in &templates {
                problems.extend(
                    unpriced(&parsed.template, pricing)
                        .into_iter()
                        .map(|unpriced| problem(parsed.file, unpriced)),
                );
            }
        }
        match pricing {
            Some(pricing) if problems.is_empty() => Ok(Offerings {
                catalog: Arc::new(Catalog::of(templates, |file| {
                    Publisher::Signed(signers[file].clone())
                })),
                pricing: Arc::new(pricing),
            }),
            _ => Err(problems),
        }
    }
}

/// A size of `template` that `pricing` has no price for in a region the template is offered
/// in, one problem a size.
pub fn unpriced(template: &Template, pricing: &PricingTable) -> Vec<CatalogError> {
    template
        .sizes
        .iter()
        .filter_map(|(&size, instance_type)| {
            let regions: Vec<&str> = template
                .offered_regions()
                .into_iter()
                .filter(|region| pricing.hourly(region, instance_type).is_none())
                .collect();
            (!regions.is_empty()).then(|| CatalogError::Unpriced {
                template: template.name.clone(),
                size,
                instance_type: instance_type.clone(),
                regions: regions.join(", "),
            })
        })
        .collect()
}

/// A template as parsed from its file.
struct Parsed<'a> {
    file: &'a str,
    text: &'a str,
    template: Template,
}

/// One template's text parsed and checked on its own (not against prices or other templates).
pub fn parse_template(text: &str) -> Result<Template, CatalogError> {
    serde_yaml::from_str::<Template>(text)
        .map_err(CatalogError::Yaml)
        .and_then(|template| check_template(&template).map(|()| template))
}

/// Every template that parses and is sound, with its file's name, and the problems of the
/// other files.
fn parse_templates<'a>(files: &[(&'a str, &'a str)]) -> (Vec<Parsed<'a>>, Vec<FileProblem>) {
    let mut templates: Vec<Parsed<'a>> = Vec::with_capacity(files.len());
    let mut problems = Vec::new();
    for &(file, text) in files {
        let problem = |problem| FileProblem {
            file: file.to_owned(),
            problem,
        };
        let template = match parse_template(text) {
            Ok(template) => template,
            Err(error) => {
                problems.push(problem(error));
                continue;
            }
        };
        let earlier = templates.iter().find(|earlier| {
            earlier.template.name.eq_ignore_ascii_case(&template.name)
                || earlier.template.slug == template.slug
        });
        match earlier {
            Some(first) => problems.push(problem(CatalogError::Duplicate {
                name: template.name,
                first: first.file.to_owned(),
            })),
            None => templates.push(Parsed {
                file,
                text,
                template,
            }),
        }
    }
    (templates, problems)
}

/// What one template must get right on its own.
fn check_template(template: &Template) -> Result<(), CatalogError> {
    if !template.sizes.contains_key(&template.default_size) {
        return Err(CatalogError::DefaultSizeMissing(template.name.clone()));
    }
    if template.regions.is_empty() {
        return Err(CatalogError::Image {
            template: template.name.clone(),
            problem: "lists no region".to_owned(),
        });
    }
    if template.platform != Platform::Ec2 {
        return check_managed(template);
    }
    check_image(template)?;
    check_services(template)?;
    // Every volume mount needs the `efs` mount type, so a template without a way to it
    // would launch workspaces no volume can be mounted on.
    if template.efs_utils().is_none() {
        return Err(CatalogError::NoEfsUtils(
            template.name.clone(),
            template.os.clone(),
        ));
    }
    Ok(())
}

/// A template for a managed platform (SageMaker Studio) is reached on the web, by the
/// platform's own sign-in, and runs the platform's image on `ml.*` instances: what an EC2
/// template says about images, packages, services and ports would be silently ignored.
fn check_managed(template: &Template) -> Result<(), CatalogError> {
    let platform = template.platform.title();
    let refuse = |what: &str| {
        Err(CatalogError::NotOnPlatform {
            template: template.name.clone(),
            platform,
            what: what.to_owned(),
        })
    };
    if template.connection_type != ConnectionType::Web {
        return refuse("`connection_type: ssh` (its workspaces are reached on the web)");
    }
    if template.image.is_some() {
        return refuse("an `image` (the platform brings its own)");
    }
    if !template.packages.is_empty() || !template.pip_packages.is_empty() {
        return refuse("packages (nothing runs a first-boot script there)");
    }
    if !template.services.is_empty() || !template.ports.is_empty() {
        return refuse("services or ports (the platform serves JupyterLab itself)");
    }
    if template.hibernation {
        return refuse("hibernation (a stopped space keeps its storage, not its memory)");
    }
    let (offered, billed_by): (fn(&str) -> bool, &str) = match template.platform {
        Platform::SagemakerCanvas => (
            |t| t == crate::studio::CANVAS_SESSION,
            "Canvas is billed by the session hour, `canvas.session`",
        ),
        _ => (|t| t.starts_with("ml."), "SageMaker's are `ml.` types"),
    };
    if let Some((_, instance_type)) = template.sizes.iter().find(|(_, t)| !offered(t)) {
        return refuse(&format!("the instance type {instance_type} ({billed_by})"));
    }
    Ok(())
}

/// A web template runs at least one service and only web templates run any: a service's
/// password reaches people only through a web template's `connect`.
fn check_services(template: &Template) -> Result<(), CatalogError> {
    match (template.connection_type, template.services.is_empty()) {
        (ConnectionType::Web, true) => {
            return Err(CatalogError::WebWithoutServices(template.name.clone()));
        }
        (ConnectionType::Ssh, false) => {
            return Err(CatalogError::ServicesWithoutWeb(template.name.clone()));
        }
        _ => {}
    }
    for (index, service) in template.services.iter().enumerate() {
        if template.services[..index]
            .iter()
            .any(|earlier| earlier.port == service.port)
        {
            return Err(CatalogError::PortTwice {
                template: template.name.clone(),
                port: service.port,
            });
        }
    }
    Ok(())
}

/// A parameter outside the publishers' public tree, or a pin that is no AMI id or names a region
/// the template is not offered in, is a mistake found at start rather than at someone's launch.
fn check_image(template: &Template) -> Result<(), CatalogError> {
    let problem = |problem: String| CatalogError::Image {
        template: template.name.clone(),
        problem,
    };
    let Some(image) = &template.image else {
        return Err(problem(
            "names no `image` (an EC2 template needs one: a public SSM parameter)".to_owned(),
        ));
    };
    if !image.parameter.starts_with("/aws/service/") {
        return Err(problem(format!(
            "image parameter `{}` is not one of the public parameters under /aws/service/",
            image.parameter
        )));
    }
    for (region, ami) in &image.pinned {
        if !template.regions.contains(region) {
            return Err(problem(format!(
                "pins an image in {region}, which it does not offer"
            )));
        }
        if !is_ami_id(ami) {
            return Err(problem(format!(
                "`{ami}` pinned in {region} is not an AMI id"
            )));
        }
    }
    Ok(())
}

/// `ami-` and 8 or 17 hexadecimal digits, as EC2 issues them.
pub fn is_ami_id(text: &str) -> bool {
    text.strip_prefix("ami-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_of(documents: &[&str]) -> Result<Catalog, Vec<FileProblem>> {
        let files: Vec<(&str, &str)> = documents.iter().map(|text| ("t.yml", *text)).collect();
        Catalog::from_sources(&files)
    }

    /// The only problem of a catalog that has exactly one.
    fn problem(documents: &[&str]) -> CatalogError {
        let mut problems = catalog_of(documents).expect_err("a problem");
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0).problem
    }

    #[test]
    fn builtin_templates_parse_and_cover_the_seed_templates() {
        let catalog = Catalog::builtin();
        for name in [
            "Python Machine Learning",
            "R Research Environment",
            "GPU ML Workstation",
            "Bioinformatics",
            "RStudio Server",
            "VS Code Server",
        ] {
            let template = catalog.find(name).expect(name);
            for size in Size::ALL {
                assert!(template.instance_type(size).is_some(), "{name} {size}");
            }
        }
    }

    #[test]
    fn web_templates_declare_their_services_and_ssh_is_the_default() {
        let kinds = |name: &str| -> (ConnectionType, Vec<(ServiceKind, u16)>) {
            let template = Catalog::builtin().find(name).unwrap();
            let services = template.services.iter().map(|s| (s.kind, s.port)).collect();
            (template.connection_type, services)
        };
        let web = ConnectionType::Web;
        assert_eq!(
            kinds("Python Machine Learning"),
            (web, vec![(ServiceKind::Jupyter, 8888)])
        );
        assert_eq!(
            kinds("RStudio Server"),
            (web, vec![(ServiceKind::Rstudio, 8787)])
        );
        assert_eq!(
            kinds("VS Code Server"),
            (web, vec![(ServiceKind::Vscode, 8080)])
        );

        let plain = genomics()
            .replace("connection_type: web\n", "")
            .replace("services:\n  - kind: jupyter\n    port: 8888\n", "");
        let plain: Template = serde_yaml::from_str(&plain).unwrap();
        assert_eq!(plain.connection_type, ConnectionType::Ssh);
        assert!(plain.services.is_empty());

        // The key older files used for the kind still reads.
        let older = genomics().replace("  - kind: jupyter", "  - name: jupyter");
        let older: Template = serde_yaml::from_str(&older).unwrap();
        assert_eq!(older.services[0].kind, ServiceKind::Jupyter);
    }

    #[test]
    fn a_web_template_needs_a_known_service_and_a_service_needs_a_web_template() {
        let genomics = genomics();
        let no_services = genomics.replace("services:\n  - kind: jupyter\n    port: 8888\n", "");
        assert!(matches!(
            problem(&[&no_services]),
            CatalogError::WebWithoutServices(name) if name == "Stanford Genomics"
        ));
        let over_ssh = genomics.replace("connection_type: web", "connection_type: ssh");
        assert!(matches!(
            problem(&[&over_ssh]),
            CatalogError::ServicesWithoutWeb(name) if name == "Stanford Genomics"
        ));
        let twice = genomics.replace(
            "    port: 8888\n",
            "    port: 8888\n  - kind: vscode\n    port: 8888\n",
        );
        assert!(matches!(
            problem(&[&twice]),
            CatalogError::PortTwice { port: 8888, .. }
        ));
        for (wrong, what) in [
            ("kind: jupyter", "kind: matlab"),
            ("connection_type: web", "connection_type: rdp"),
            ("    port: 8888", "    port: 8888\n    public: true"),
        ] {
            let text = genomics.replace(wrong, what);
            assert!(matches!(problem(&[&text]), CatalogError::Yaml(_)), "{what}");
        }
    }

    #[test]
    fn seed_gpu_xl_is_a_p3_8xlarge() {
        let gpu = Catalog::builtin().find("gpu ml workstation").unwrap();
        assert_eq!(gpu.instance_type(Size::XL), Some("p3.8xlarge"));
    }

    #[test]
    fn templates_are_found_by_slug() {
        assert_eq!(
            Catalog::builtin().find("python-ml").unwrap().name,
            "Python Machine Learning"
        );
    }

    #[test]
    fn unknown_template_lists_what_exists() {
        let err = Catalog::builtin().find("Matlab").unwrap_err();
        assert_eq!(err.requested, "Matlab");
        assert_eq!(err.available.len(), BUILTIN_TEMPLATES.len());
    }

    #[test]
    fn sizes_parse_in_any_case() {
        assert_eq!("xl".parse::<Size>(), Ok(Size::XL));
        assert_eq!("M".parse::<Size>(), Ok(Size::M));
        assert_eq!("XXL".parse::<Size>(), Err(UnknownSize("XXL".to_owned())));
    }

    #[test]
    fn a_template_gets_efs_utils_its_own_way_or_its_os_way_and_needs_one() {
        let ubuntu = BUILTIN_TEMPLATES[0].1;
        let catalog = catalog_of(&[ubuntu]).unwrap();
        assert_eq!(
            catalog.efs_utils("python-ml"),
            EfsUtils::default_for("ubuntu-22.04")
        );
        assert_eq!(catalog.efs_utils("matlab"), None);

        let own = format!("{ubuntu}\nefs_utils: {{ source: os-repositories }}\n");
        let catalog = catalog_of(&[&own]).unwrap();
        assert_eq!(
            catalog.efs_utils("python-ml"),
            Some(EfsUtils::OsRepositories {})
        );

        let unknown_field =
            format!("{ubuntu}\nefs_utils: {{ source: os-repositories, via: s3 }}\n");
        assert!(matches!(problem(&[&unknown_field]), CatalogError::Yaml(_)));

        let other_os = ubuntu.replace("os: ubuntu-22.04", "os: windows-2022");
        assert!(matches!(
            problem(&[&other_os]),
            CatalogError::NoEfsUtils(_, os) if os == "windows-2022"
        ));
    }

    #[test]
    fn a_duplicate_template_is_rejected() {
        let doc = BUILTIN_TEMPLATES[0].1;
        assert!(matches!(
            problem(&[doc, doc]),
            CatalogError::Duplicate { .. }
        ));
    }

    #[test]
    fn a_template_offered_in_a_region_reads_its_parameter_there_unless_pinned() {
        let doc = BUILTIN_TEMPLATES[0].1.replace(
            "ebs-gp2/ami-id\n",
            "ebs-gp2/ami-id\n  pinned: { us-west-2: ami-0123456789abcdef0 }\n",
        );
        let catalog = catalog_of(&[&doc]).unwrap();
        let template = &catalog.templates()[0];
        assert_eq!(
            template.image_in("us-east-1"),
            Some(ImageSource::Parameter(
                "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
                    .to_owned()
            ))
        );
        assert_eq!(
            template.image_in("us-west-2"),
            Some(ImageSource::Pinned("ami-0123456789abcdef0".to_owned()))
        );
        assert_eq!(template.image_in("ap-south-1"), None);
    }

    #[test]
    fn bad_images_are_refused_when_the_catalog_loads() {
        let cases = [
            (
                "a private parameter",
                "/aws/service/canonical",
                "/team/ubuntu",
            ),
            (
                "a pin that is no AMI id",
                "ebs-gp2/ami-id\n",
                "ebs-gp2/ami-id\n  pinned: { us-east-1: ubuntu }\n",
            ),
            (
                "a pin in a region not offered",
                "ebs-gp2/ami-id\n",
                "ebs-gp2/ami-id\n  pinned: { ap-south-1: ami-0123456789abcdef0 }\n",
            ),
        ];
        for (case, from, to) in cases {
            let doc = BUILTIN_TEMPLATES[0].1.replace(from, to);
            assert_ne!(doc, BUILTIN_TEMPLATES[0].1, "{case}");
            assert!(
                matches!(problem(&[&doc]), CatalogError::Image { .. }),
                "{case}"
            );
        }
    }

    #[test]
    fn a_studio_template_takes_nothing_that_only_an_ec2_instance_would_use() {
        let studio = include_str!("../../templates/sagemaker-studio.yml");
        let parsed = parse_template(studio).unwrap();
        assert_eq!(parsed.platform, Platform::SagemakerStudio);
        assert_eq!(parsed.image_in("us-east-1"), Some(ImageSource::Managed));
        assert_eq!(parsed.image_in("eu-west-1"), None);
        let cases = [
            (
                "an image",
                "connection_type: web\n",
                "connection_type: web\nimage:\n  parameter: /aws/service/canonical/x\n",
            ),
            ("an EC2 type", "M: ml.m5.xlarge", "M: m5.xlarge"),
            ("ssh", "connection_type: web", "connection_type: ssh"),
            (
                "packages",
                "connection_type: web\n",
                "connection_type: web\npackages: [git]\n",
            ),
            (
                "a service",
                "connection_type: web\n",
                "connection_type: web\nservices:\n  - kind: jupyter\n    port: 8888\n",
            ),
            ("hibernation", "hibernation: false", "hibernation: true"),
        ];
        for (case, from, to) in cases {
            let doc = studio.replace(from, to);
            assert_ne!(doc, studio, "{case}");
            let error = parse_template(&doc).unwrap_err();
            assert!(
                matches!(error, CatalogError::NotOnPlatform { .. }),
                "{case}: {error}"
            );
            assert!(error.to_string().contains("SageMaker Studio"), "{error}");
        }
        // Canvas is billed by the session, never by an instance type.
        let canvas = include_str!("../../templates/sagemaker-canvas.yml");
        let parsed = parse_template(canvas).unwrap();
        assert_eq!(parsed.platform, Platform::SagemakerCanvas);
        assert!(parsed.platform.one_per_person() && parsed.platform.signs_in_by_link());
        let typed = canvas.replace("M: canvas.session", "M: ml.m5.xlarge");
        assert_ne!(typed, canvas);
        let error = parse_template(&typed).unwrap_err().to_string();
        assert!(
            error.contains("SageMaker Canvas") && error.contains("session hour"),
            "{error}"
        );
        // An EC2 template still needs its image.
        let imageless = BUILTIN_TEMPLATES[0].1.replace(
            "image:\n  parameter: /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id\n",
            "",
        );
        assert_ne!(imageless, BUILTIN_TEMPLATES[0].1);
        assert!(
            parse_template(&imageless)
                .unwrap_err()
                .to_string()
                .contains("names no `image`")
        );
    }

    const PRICING: &str = include_str!("../../templates/pricing.yml");

    /// The shipped files, as a templates directory holds them, then `extra`.
    fn directory<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut files = BUILTIN_TEMPLATES.to_vec();
        files.push((PRICING_FILE, PRICING));
        files.extend_from_slice(extra);
        files
    }

    fn publisher() -> crate::template_trust::TemplateSigner {
        crate::template_trust::TemplateSigner::from_seed("stanford-rc".parse().unwrap(), [5; 32])
    }

    fn trusted() -> Publishers {
        publisher().publisher_entry().parse().unwrap()
    }

    /// The offerings of `files`, each signed by [`publisher`].
    fn offerings_of(files: &[(&str, &str)]) -> Result<Offerings, Vec<FileProblem>> {
        let signatures: Vec<String> = files
            .iter()
            .map(|(_, text)| publisher().sign(text))
            .collect();
        let signed: Vec<SignedFile<'_>> = files
            .iter()
            .zip(&signatures)
            .map(|(&(name, text), signature)| SignedFile {
                name,
                text,
                signature: Some(signature),
            })
            .collect();
        Offerings::from_files(&signed, &trusted())
    }

    /// An institution's own template, as a site would write it from a shipped one.
    fn genomics() -> String {
        BUILTIN_TEMPLATES[0]
            .1
            .replace("name: Python Machine Learning", "name: Stanford Genomics")
            .replace("slug: python-ml", "slug: stanford-genomics")
    }

    #[test]
    fn the_shipped_directory_gives_the_builtin_offerings() {
        let shipped = offerings_of(&directory(&[])).unwrap();
        assert_eq!(
            shipped.catalog.templates(),
            Offerings::builtin().catalog.templates()
        );
        assert_eq!(shipped.pricing, Offerings::builtin().pricing);
        let own = genomics();
        let offerings = offerings_of(&directory(&[("genomics.yml", &own)])).unwrap();
        assert_eq!(
            offerings.catalog.templates().len(),
            BUILTIN_TEMPLATES.len() + 1
        );
        let template = offerings.catalog.find("stanford-genomics").unwrap();
        let provenance = offerings.catalog.provenance(template).unwrap();
        assert_eq!(provenance.publisher.to_string(), "stanford-rc");
        assert_eq!(&*provenance.text, own);
    }

    #[test]
    fn a_file_changed_after_signing_or_unsigned_is_refused_by_name() {
        let own = genomics();
        let signature = publisher().sign(&own);
        let changed = own.replacen("t3.large", "t3.largf", 1);
        let pricing_signature = publisher().sign(PRICING);
        let files = [
            SignedFile {
                name: "genomics.yml",
                text: &changed,
                signature: Some(&signature),
            },
            SignedFile {
                name: "bioinformatics.yml",
                text: BUILTIN_TEMPLATES[3].1,
                signature: None,
            },
            SignedFile {
                name: PRICING_FILE,
                text: PRICING,
                signature: Some(&pricing_signature),
            },
        ];
        let said: Vec<String> = Offerings::from_files(&files, &trusted())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            said,
            [
                "genomics.yml: its signature by `stanford-rc` does not match its text: it was \
                 changed after signing",
                "bioinformatics.yml: unsigned: no signature file beside it (sign it with `cws \
                 templates sign`)",
            ]
        );
        let said: Vec<String> = Offerings::from_files(&files[2..], &Publishers::default())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            said[0].starts_with("*.yml: templates from a directory must be signed"),
            "{said:?}"
        );
    }

    #[test]
    fn an_approved_template_joins_the_catalog_or_replaces_its_namesake() {
        let approved = |text: &str| {
            let template = parse_template(text).unwrap();
            let provenance = Provenance {
                publisher: Publisher::Approved {
                    publisher: "cws-deployment".parse().unwrap(),
                    approved_by: "slack:T1:U1".to_owned(),
                    at: "2026-12-04".to_owned(),
                },
                text: Arc::from(text),
            };
            (template, provenance)
        };
        let own = genomics();
        let faster = BUILTIN_TEMPLATES[0].1.replace("M: t3.large", "M: m5.large");
        let catalog = Catalog::builtin().with_published(vec![approved(&own), approved(&faster)]);
        assert_eq!(catalog.templates().len(), BUILTIN_TEMPLATES.len() + 1);
        let python = catalog.find("Python Machine Learning").unwrap();
        assert_eq!(python.instance_type(Size::M), Some("m5.large"));
        assert!(
            catalog
                .provenance(python)
                .unwrap()
                .publisher
                .to_string()
                .starts_with("cws-deployment, approved by")
        );
    }

    #[test]
    fn each_broken_file_is_refused_naming_it_and_what_is_wrong() {
        let genomics = genomics();
        let unknown_field = format!("{genomics}colour: blue\n");
        let unpriced = genomics.replace("XL: r5.2xlarge", "XL: x2iedn.32xlarge");
        let unpriced_too = unpriced
            .replace("stanford-genomics", "stanford-g2")
            .replace("Stanford Genomics", "Stanford G2");
        let no_default = genomics
            .replace("default_size: M", "default_size: XL")
            .replace("  XL: r5.2xlarge\n", "");
        let euros = PRICING.replace("currency: USD", "currency: EUR");
        let bad_rate = PRICING.replace("t3.large: \"0.0832\"", "t3.large: \"cheap\"");
        assert_ne!(bad_rate, PRICING, "the shipped t3.large rate moved");
        let mut no_pricing = BUILTIN_TEMPLATES.to_vec();
        no_pricing.push(("genomics.yml", &genomics));
        // Each message a directory must give, as the parts it must contain.
        type Messages<'a> = &'a [&'a [&'a str]];
        type Files<'a> = Vec<(&'a str, &'a str)>;
        // (case, the directory, its messages)
        let cases: [(&str, Files, Messages); 9] = [
            (
                "not YAML",
                directory(&[(
                    "genomics.yml",
                    "name: Stanford Genomics\n  slug: genomics\n",
                )]),
                &[&["genomics.yml: mapping values are not allowed", "line 2"]],
            ),
            (
                "an unknown field",
                directory(&[("genomics.yml", &unknown_field)]),
                &[&["genomics.yml: unknown field `colour`", "at line 32"]],
            ),
            (
                "a size with no price",
                directory(&[("genomics.yml", &unpriced)]),
                &[&[
                    "genomics.yml: template `Stanford Genomics`: size XL is x2iedn.32xlarge, which \
                   pricing.yml has no on_demand_hourly price for in us-east-1, us-east-2, \
                   us-west-1, us-west-2, eu-west-1: add one, or offer the template elsewhere",
                ]],
            ),
            (
                "a duplicate template name",
                directory(&[("copy.yml", BUILTIN_TEMPLATES[0].1)]),
                &[&[
                    "copy.yml: template `Python Machine Learning` is defined twice (also in \
                   python-machine-learning.yml)",
                ]],
            ),
            (
                "a default size it does not offer",
                directory(&[("genomics.yml", &no_default)]),
                &[&[
                    "genomics.yml: template `Stanford Genomics`: default size is not one of its sizes",
                ]],
            ),
            (
                "prices in another currency",
                directory(&[])
                    .into_iter()
                    .map(|(file, text)| (file, if file == PRICING_FILE { &euros } else { text }))
                    .collect(),
                &[&["pricing.yml: only USD is supported, found EUR"]],
            ),
            (
                "a rate that is no amount",
                directory(&[])
                    .into_iter()
                    .map(|(file, text)| {
                        (
                            file,
                            if file == PRICING_FILE {
                                &bad_rate
                            } else {
                                text
                            },
                        )
                    })
                    .collect(),
                &[&["pricing.yml: us-east-1 t3.large: `cheap` is not an amount of dollars"]],
            ),
            (
                "no pricing.yml",
                no_pricing,
                &[&["pricing.yml: not found: a templates directory needs the prices"]],
            ),
            (
                "three broken files at once",
                directory(&[
                    ("genomics.yml", &unknown_field),
                    ("copy.yml", BUILTIN_TEMPLATES[1].1),
                    ("unpriced.yml", &unpriced_too),
                ]),
                &[
                    &["genomics.yml: unknown field `colour`"],
                    &["copy.yml: template `R Research Environment` is defined twice"],
                    &["unpriced.yml: template `Stanford G2`: size XL is x2iedn.32xlarge"],
                ],
            ),
        ];
        for (case, files, wanted) in cases {
            let problems = offerings_of(&files).expect_err(case);
            assert_eq!(problems.len(), wanted.len(), "{case}: {problems:?}");
            let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
            for (said, parts) in said.iter().zip(wanted) {
                for part in *parts {
                    assert!(
                        said.contains(part),
                        "{case}: {said:?} does not say {part:?}"
                    );
                }
            }
        }
        let only_pricing = [(PRICING_FILE, PRICING)];
        let said: Vec<String> = offerings_of(&only_pricing)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            said,
            [
                "*.yml: no template files: the directory needs at least one template beside pricing.yml"
            ]
        );
    }

    #[test]
    fn ami_ids_have_ec2s_shape() {
        assert!(is_ami_id("ami-0123456789abcdef0"));
        assert!(is_ami_id("ami-12345678"));
        assert!(!is_ami_id("ami-0123456789ABCDEF0"));
        assert!(!is_ami_id("ami-123"));
        assert!(!is_ami_id("snap-0123456789abcdef0"));
    }
}

//! Workspace templates: what a template name and a size resolve to.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::efs_utils::EfsUtils;

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

/// A service a template runs for the research user, reachable on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub name: String,
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
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Parameter(name) => write!(f, "SSM parameter {name}"),
            ImageSource::Pinned(ami) => write!(f, "pinned image {ami}"),
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
    pub image: ImageSpec,
    /// Where the template is offered; a launch elsewhere is refused before any AWS call.
    pub regions: Vec<String>,
    pub default_size: Size,
    pub sizes: BTreeMap<Size, String>,
    pub hibernation: bool,
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub ports: Vec<u16>,
    /// How amazon-efs-utils gets onto its machines; unset: the usual way for its `os`.
    #[serde(default)]
    pub efs_utils: Option<EfsUtils>,
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
        Some(match self.image.pinned.get(region) {
            Some(ami) => ImageSource::Pinned(ami.clone()),
            None => ImageSource::Parameter(self.image.parameter.clone()),
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

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("template file {index}: {source}")]
    Yaml {
        index: usize,
        source: serde_yaml::Error,
    },
    #[error("template `{0}`: default size is not one of its sizes")]
    DefaultSizeMissing(String),
    #[error("template `{0}` is defined twice")]
    Duplicate(String),
    #[error("template `{template}`: {problem}")]
    Image { template: String, problem: String },
    #[error(
        "template `{0}`: no known way to install amazon-efs-utils on its os `{1}`; give it `efs_utils`"
    )]
    NoEfsUtils(String, String),
}

/// Every template this deployment offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    templates: Vec<Template>,
}

const BUILTIN_TEMPLATES: [&str; 4] = [
    include_str!("../../templates/python-machine-learning.yml"),
    include_str!("../../templates/r-research-environment.yml"),
    include_str!("../../templates/gpu-ml-workstation.yml"),
    include_str!("../../templates/bioinformatics.yml"),
];

static BUILTIN: LazyLock<Catalog> = LazyLock::new(|| {
    Catalog::from_yaml_documents(&BUILTIN_TEMPLATES)
        .expect("templates/*.yml are compiled in and checked by the catalog tests")
});

impl Catalog {
    /// The templates shipped in `templates/`, compiled into the binary so bot and worker agree.
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    pub fn from_yaml_documents(documents: &[&str]) -> Result<Catalog, CatalogError> {
        let mut templates: Vec<Template> = Vec::with_capacity(documents.len());
        for (index, text) in documents.iter().enumerate() {
            let template: Template = serde_yaml::from_str(text)
                .map_err(|source| CatalogError::Yaml { index, source })?;
            if !template.sizes.contains_key(&template.default_size) {
                return Err(CatalogError::DefaultSizeMissing(template.name));
            }
            check_image(&template)?;
            // Every volume mount needs the `efs` mount type, so a template without a way to it
            // would launch workspaces no volume can be mounted on.
            if template.efs_utils().is_none() {
                return Err(CatalogError::NoEfsUtils(template.name, template.os));
            }
            if templates
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(&template.name) || t.slug == template.slug)
            {
                return Err(CatalogError::Duplicate(template.name));
            }
            templates.push(template);
        }
        Ok(Catalog { templates })
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

/// A parameter outside the publishers' public tree, or a pin that is no AMI id or names a region
/// the template is not offered in, is a mistake found at start rather than at someone's launch.
fn check_image(template: &Template) -> Result<(), CatalogError> {
    let problem = |problem: String| CatalogError::Image {
        template: template.name.clone(),
        problem,
    };
    if !template.image.parameter.starts_with("/aws/service/") {
        return Err(problem(format!(
            "image parameter `{}` is not one of the public parameters under /aws/service/",
            template.image.parameter
        )));
    }
    if template.regions.is_empty() {
        return Err(problem("lists no region".to_owned()));
    }
    for (region, ami) in &template.image.pinned {
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

    #[test]
    fn builtin_templates_parse_and_cover_the_seed_templates() {
        let catalog = Catalog::builtin();
        for name in [
            "Python Machine Learning",
            "R Research Environment",
            "GPU ML Workstation",
            "Bioinformatics",
        ] {
            let template = catalog.find(name).expect(name);
            for size in Size::ALL {
                assert!(template.instance_type(size).is_some(), "{name} {size}");
            }
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
        assert_eq!(err.available.len(), 4);
    }

    #[test]
    fn sizes_parse_in_any_case() {
        assert_eq!("xl".parse::<Size>(), Ok(Size::XL));
        assert_eq!("M".parse::<Size>(), Ok(Size::M));
        assert_eq!("XXL".parse::<Size>(), Err(UnknownSize("XXL".to_owned())));
    }

    #[test]
    fn a_template_gets_efs_utils_its_own_way_or_its_os_way_and_needs_one() {
        let ubuntu = BUILTIN_TEMPLATES[0];
        let catalog = Catalog::from_yaml_documents(&[ubuntu]).unwrap();
        assert_eq!(
            catalog.efs_utils("python-ml"),
            EfsUtils::default_for("ubuntu-22.04")
        );
        assert_eq!(catalog.efs_utils("matlab"), None);

        let own = format!("{ubuntu}\nefs_utils: {{ source: os-repositories }}\n");
        let catalog = Catalog::from_yaml_documents(&[&own]).unwrap();
        assert_eq!(
            catalog.efs_utils("python-ml"),
            Some(EfsUtils::OsRepositories {})
        );

        let unknown_field =
            format!("{ubuntu}\nefs_utils: {{ source: os-repositories, via: s3 }}\n");
        assert!(matches!(
            Catalog::from_yaml_documents(&[&unknown_field]),
            Err(CatalogError::Yaml { .. })
        ));

        let other_os = ubuntu.replace("os: ubuntu-22.04", "os: windows-2022");
        assert!(matches!(
            Catalog::from_yaml_documents(&[&other_os]),
            Err(CatalogError::NoEfsUtils(_, os)) if os == "windows-2022"
        ));
    }

    #[test]
    fn a_duplicate_template_is_rejected() {
        let doc = BUILTIN_TEMPLATES[0];
        assert!(matches!(
            Catalog::from_yaml_documents(&[doc, doc]),
            Err(CatalogError::Duplicate(_))
        ));
    }

    #[test]
    fn a_template_offered_in_a_region_reads_its_parameter_there_unless_pinned() {
        let doc = BUILTIN_TEMPLATES[0].replace(
            "ebs-gp2/ami-id\n",
            "ebs-gp2/ami-id\n  pinned: { us-west-2: ami-0123456789abcdef0 }\n",
        );
        let catalog = Catalog::from_yaml_documents(&[&doc]).unwrap();
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
            let doc = BUILTIN_TEMPLATES[0].replace(from, to);
            assert_ne!(doc, BUILTIN_TEMPLATES[0], "{case}");
            assert!(
                matches!(
                    Catalog::from_yaml_documents(&[&doc]),
                    Err(CatalogError::Image { .. })
                ),
                "{case}"
            );
        }
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

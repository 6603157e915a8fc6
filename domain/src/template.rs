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

/// One workspace template, as written in `templates/*.yml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub os: String,
    /// AMI id per region: AMI ids are regional, so a template is offered only where it has one.
    pub ami: BTreeMap<String, String>,
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

    pub fn ami(&self, region: &str) -> Option<&str> {
        self.ami.get(region).map(String::as_str)
    }

    pub fn offered_sizes(&self) -> Vec<Size> {
        self.sizes.keys().copied().collect()
    }

    pub fn offered_regions(&self) -> Vec<&str> {
        self.ami.keys().map(String::as_str).collect()
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
}

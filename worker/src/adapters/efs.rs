//! EFS through the official AWS SDK: shared file systems, their mount targets, one access
//! point per grant and the resource policy. Every creation is made safe to repeat: the file
//! system by its creation token, access points by a key tag looked up before creating.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;
use aws_sdk_efs::Client;
use aws_sdk_efs::error::ProvideErrorMetadata;
use aws_sdk_efs::types::{CreationInfo, PerformanceMode, PosixUser, RootDirectory, Tag};
use domain::ports::{
    AccessPoint, AccessPointRoot, FileSystem, FileSystems, MountTarget, PortError, PosixIdentity,
};

use crate::adapters::aws::classify;

/// On an access point: the key it was made for.
const TAG_ACCESS_POINT_KEY: &str = "cws:access-point-key";

pub struct Efs {
    efs: Client,
    ec2: aws_sdk_ec2::Client,
}

impl Efs {
    pub fn new(config: &SdkConfig) -> Efs {
        Efs {
            efs: Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
        }
    }
}

/// EFS takes client and creation tokens of at most 64 characters; a longer key (long project,
/// volume and user names) is replaced by its SHA-256, the same for the same key, so a retry
/// stays safe.
fn client_token(key: &str) -> String {
    const MAX: usize = 64;
    if key.len() <= MAX {
        key.to_owned()
    } else {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

fn invalid(error: aws_sdk_efs::error::BuildError) -> PortError {
    PortError::Rejected {
        code: "InvalidParameter".to_owned(),
        message: error.to_string(),
    }
}

fn tags(tags: &[(String, String)]) -> Result<Vec<Tag>, PortError> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(invalid)
        })
        .collect()
}

#[async_trait]
impl FileSystems for Efs {
    async fn create_file_system(
        &self,
        creation_token: &str,
        tags_wanted: &[(String, String)],
    ) -> Result<FileSystem, PortError> {
        let made = self
            .efs
            .create_file_system()
            .creation_token(client_token(creation_token))
            .encrypted(true)
            .performance_mode(PerformanceMode::GeneralPurpose)
            .set_tags(Some(tags(tags_wanted)?))
            .send()
            .await;
        match made {
            Ok(output) => Ok(FileSystem {
                id: output.file_system_id().to_owned(),
                arn: output.file_system_arn().unwrap_or_default().to_owned(),
            }),
            Err(error) if error.code() == Some("FileSystemAlreadyExists") => {
                let found = self
                    .efs
                    .describe_file_systems()
                    .creation_token(client_token(creation_token))
                    .send()
                    .await
                    .map_err(classify)?;
                found
                    .file_systems()
                    .first()
                    .map(|fs| FileSystem {
                        id: fs.file_system_id().to_owned(),
                        arn: fs.file_system_arn().unwrap_or_default().to_owned(),
                    })
                    .ok_or_else(|| {
                        PortError::Transient(format!(
                            "EFS says {creation_token} exists but does not list it yet"
                        ))
                    })
            }
            Err(error) => Err(classify(error)),
        }
    }

    async fn ensure_mount_targets(&self, file_system_id: &str) -> Result<usize, PortError> {
        let subnets = self
            .ec2
            .describe_subnets()
            .filters(
                Filter::builder()
                    .name("default-for-az")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .map_err(classify)?;
        let existing = self
            .efs
            .describe_mount_targets()
            .file_system_id(file_system_id)
            .send()
            .await
            .map_err(classify)?;
        let covered: Vec<&str> = existing
            .mount_targets()
            .iter()
            .map(|target| target.subnet_id())
            .collect();
        let mut count = covered.len();
        for subnet in subnets.subnets() {
            let Some(subnet_id) = subnet.subnet_id() else {
                continue;
            };
            if covered.contains(&subnet_id) {
                continue;
            }
            match self
                .efs
                .create_mount_target()
                .file_system_id(file_system_id)
                .subnet_id(subnet_id)
                .send()
                .await
            {
                Ok(_) => count += 1,
                Err(error) if error.code() == Some("MountTargetConflict") => count += 1,
                Err(error) => return Err(classify(error)),
            }
        }
        Ok(count)
    }

    async fn ensure_mount_target_in(
        &self,
        file_system_id: &str,
        subnet_id: &str,
    ) -> Result<(), PortError> {
        let existing = self
            .efs
            .describe_mount_targets()
            .file_system_id(file_system_id)
            .send()
            .await
            .map_err(classify)?;
        if existing
            .mount_targets()
            .iter()
            .any(|target| target.subnet_id() == subnet_id)
        {
            return Ok(());
        }
        match self
            .efs
            .create_mount_target()
            .file_system_id(file_system_id)
            .subnet_id(subnet_id)
            .send()
            .await
        {
            // Another subnet of the same zone has one: the instance reaches that one.
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("MountTargetConflict") => Ok(()),
            Err(error) => Err(classify(error)),
        }
    }

    async fn create_access_point(
        &self,
        file_system_id: &str,
        key: &str,
        user: PosixIdentity,
        root: AccessPointRoot<'_>,
        tags_wanted: &[(String, String)],
    ) -> Result<AccessPoint, PortError> {
        let existing = self
            .efs
            .describe_access_points()
            .file_system_id(file_system_id)
            .send()
            .await
            .map_err(classify)?;
        if let Some(found) = existing.access_points().iter().find(|point| {
            point
                .tags()
                .iter()
                .any(|tag| tag.key() == TAG_ACCESS_POINT_KEY && tag.value() == key)
        }) {
            return Ok(AccessPoint {
                id: found.access_point_id().unwrap_or_default().to_owned(),
                arn: found.access_point_arn().unwrap_or_default().to_owned(),
            });
        }
        let mut all_tags = tags_wanted.to_vec();
        all_tags.push((TAG_ACCESS_POINT_KEY.to_owned(), key.to_owned()));
        let made = self
            .efs
            .create_access_point()
            .client_token(client_token(key))
            .file_system_id(file_system_id)
            .posix_user(
                PosixUser::builder()
                    .uid(i64::from(user.uid))
                    .gid(i64::from(user.gid))
                    .secondary_gids(i64::from(root.owner.gid))
                    .build()
                    .map_err(invalid)?,
            )
            .root_directory(
                RootDirectory::builder()
                    .path(root.path)
                    .creation_info(
                        CreationInfo::builder()
                            .owner_uid(i64::from(root.owner.uid))
                            .owner_gid(i64::from(root.owner.gid))
                            .permissions(root.permissions)
                            .build()
                            .map_err(invalid)?,
                    )
                    .build(),
            )
            .set_tags(Some(tags(&all_tags)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(AccessPoint {
            id: made.access_point_id().unwrap_or_default().to_owned(),
            arn: made.access_point_arn().unwrap_or_default().to_owned(),
        })
    }

    async fn mount_targets(&self, file_system_id: &str) -> Result<Vec<MountTarget>, PortError> {
        let listed = self
            .efs
            .describe_mount_targets()
            .file_system_id(file_system_id)
            .send()
            .await
            .map_err(classify)?;
        Ok(listed
            .mount_targets()
            .iter()
            .filter_map(|target| {
                Some(MountTarget {
                    ip_address: target.ip_address()?.to_owned(),
                    zone_id: target.availability_zone_id().map(str::to_owned),
                })
            })
            .collect())
    }

    async fn put_policy(&self, file_system_id: &str, policy: &str) -> Result<(), PortError> {
        self.efs
            .put_file_system_policy()
            .file_system_id(file_system_id)
            .policy(policy)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::client_token;

    #[test]
    fn client_tokens_fit_efs_and_stay_the_same_for_the_same_key() {
        let short = "nih-neuro-consortium:lab-homes:home:michael_johnson";
        assert_eq!(client_token(short), short);
        let long = format!(
            "{}:{}:home:{}",
            "p".repeat(63),
            "v".repeat(63),
            "u".repeat(32)
        );
        let token = client_token(&long);
        assert_eq!(token.len(), 64);
        assert_eq!(client_token(&long), token);
        assert_ne!(client_token(&format!("{long}x")), token);
    }
}

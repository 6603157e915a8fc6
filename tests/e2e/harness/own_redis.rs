//! A Redis of the test's own on a free loopback port, persisted to an append-only file fsynced
//! on every write: it can be killed outright and started again from that file with every
//! write it acknowledged, as a production Redis restarts from its AOF.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually;

pub struct OwnRedis {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts it and waits until it answers.
    pub async fn start() -> OwnRedis {
        let dir = std::env::temp_dir().join(format!(
            "cws-e2e-own-redis-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = OwnRedis {
            dir,
            port,
            child: None,
        };
        redis.restart().await;
        redis
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: no shutdown, no final save, like a machine dying.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts redis-server on the same port from the same directory (and so the same AOF),
    /// and waits until it answers PING, its data loaded.
    pub async fn restart(&mut self) {
        self.start_server("yes").await;
    }

    /// The runbook's backup (docs/operations.md): BGSAVE, wait until LASTSAVE moves, copy
    /// `dump.rdb` away. Returns the copy.
    pub async fn backup(&self) -> PathBuf {
        let mut connection = self.connection().await;
        let before: i64 = redis::cmd("LASTSAVE")
            .query_async(&mut connection)
            .await
            .unwrap();
        // LASTSAVE has one-second resolution: a save in the same second would not show.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let _: String = redis::cmd("BGSAVE")
            .query_async(&mut connection)
            .await
            .unwrap();
        eventually("BGSAVE to finish", Duration::from_secs(10), || {
            let mut connection = connection.clone();
            async move {
                let last: i64 = redis::cmd("LASTSAVE")
                    .query_async(&mut connection)
                    .await
                    .ok()?;
                (last > before).then_some(())
            }
        })
        .await;
        let copy = self.dir.with_extension("backup.rdb");
        std::fs::copy(self.dir.join("dump.rdb"), &copy).unwrap();
        copy
    }

    /// The runbook's restore into a fresh Redis: everything in the data directory goes, the
    /// backup is put there, Redis starts once with AOF off (so it loads the RDB rather than
    /// an empty AOF), and `CONFIG SET appendonly yes` rebuilds the AOF from what it loaded.
    pub async fn restore(&mut self, backup: &std::path::Path) {
        self.kill();
        std::fs::remove_dir_all(&self.dir).unwrap();
        std::fs::create_dir_all(&self.dir).unwrap();
        std::fs::copy(backup, self.dir.join("dump.rdb")).unwrap();
        self.start_server("no").await;
        let _: String = redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("yes")
            .query_async(&mut self.connection().await)
            .await
            .unwrap();
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn start_server(&mut self, append_only: &str) {
        assert!(self.child.is_none(), "redis-server is still running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                append_only,
                "--appendfsync",
                "always",
            ])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        eventually(
            "our redis-server to answer",
            Duration::from_secs(10),
            || {
                let client = client.clone();
                async move {
                    let mut connection = client.get_multiplexed_async_connection().await.ok()?;
                    redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .ok()
                }
            },
        )
        .await;
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! The launch user data: a shell script that provisions the research user on first boot.

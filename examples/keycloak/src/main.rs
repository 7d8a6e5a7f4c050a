//! Placeholder for the Keycloak example server (issue 8). It exists only so the workspace's
//! `examples/*` glob loads; it exits with an error until the real example replaces it.

fn main() {
    eprintln!("keycloak-example is not written yet (issue 8); see examples/keycloak/README.md");
    std::process::exit(1);
}

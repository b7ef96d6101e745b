//! Token vault: AES-256-GCM encryption of OAuth tokens at rest (P22).

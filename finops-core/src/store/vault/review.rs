//! A client's analysis under review: notes, reviewed, signed off (CPAs of the firm only).

use super::*;

/// Where an analysis stands in the firm's review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Saved, not yet reviewed.
    Draft,
    /// A CPA of the firm reviewed it.
    Reviewed,
    /// A CPA of the firm signed it off; its content's hash is recorded.
    SignedOff,
}

/// A CPA's note on an analysis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewNote {
    /// Who wrote it.
    pub by: Principal,
    /// RFC 3339.
    pub at: String,
    /// The note.
    pub text: String,
}

/// The review of one analysis: its status, the CPAs' notes, and who signed it off when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Review {
    /// Where the review stands.
    pub status: ReviewStatus,
    /// The CPAs' notes, oldest first.
    pub notes: Vec<ReviewNote>,
    /// Who marked it reviewed.
    pub reviewed_by: Option<Principal>,
    /// Who signed it off.
    pub signed_off_by: Option<Principal>,
    /// When it was signed off (RFC 3339).
    pub signed_off_at: Option<String>,
    /// The SHA-256 (hex) of the analysis as signed off; reading it later checks it is still that content.
    #[serde(default)]
    pub content_sha256: Option<String>,
}

/// What a CPA does to an analysis under review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewAction {
    /// A CPA's note.
    Annotate(String),
    /// Mark it reviewed.
    MarkReviewed,
    /// Sign it off (a CPA of the firm).
    SignOff,
}

impl ReviewAction {
    /// The action a binding names: `annotate` (with a note), `reviewed`, or `sign_off`.
    pub fn parse(action: &str, note: Option<String>) -> Result<Self> {
        match (action, note) {
            ("annotate", Some(text)) => Ok(ReviewAction::Annotate(text)),
            ("annotate", None) => Err(Error::invalid_argument("note", "annotate needs a note")),
            ("reviewed", None) => Ok(ReviewAction::MarkReviewed),
            ("sign_off", None) => Ok(ReviewAction::SignOff),
            ("reviewed" | "sign_off", Some(_)) => Err(Error::invalid_argument(
                "note",
                "only annotate takes a note",
            )),
            (other, _) => Err(Error::invalid_argument(
                "action",
                format!("`{other}` is not annotate, reviewed or sign_off"),
            )),
        }
    }
}

impl Vault {
    pub(super) async fn put_review(
        &self,
        tenant: &str,
        id: &str,
        client_tag: &str,
        review: &Review,
    ) -> Result<()> {
        let body = serde_json::to_vec(review).map_err(|e| Error::Internal(e.to_string()))?;
        let scope = self.client_scope(tenant, client_tag).await?;
        let sealed = self.keyring.encrypt(&scope, REVIEW, id, &body)?;
        self.store
            .put_record(&RecordRow {
                kind: REVIEW.into(),
                tenant: tenant.to_string(),
                id: id.to_string(),
                client_tag: client_tag.to_string(),
                created_at: now(),
                sealed,
            })
            .await
    }

    pub(super) async fn get_review(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<(Review, String)>> {
        let Some(row) = self.store.get_record(REVIEW, tenant, id).await? else {
            return Ok(None);
        };
        self.open_review(row).await.map(Some)
    }

    /// A review record, decrypted, with its client tag.
    pub(super) async fn open_review(&self, row: RecordRow) -> Result<(Review, String)> {
        let plain = self.open_row(&row).await?;
        let review = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: e.to_string(),
        })?;
        Ok((review, row.client_tag))
    }

    /// The review of an analysis: anyone who may read the analysis may read its review, so with
    /// [`Vault::require_sign_off`] a Client sees neither, notes included, before a CPA signed it off.
    pub async fn review(&self, principal: &Principal, tenant: &str, id: &str) -> Result<Review> {
        self.load_analysis_unchecked_sign_off(principal, tenant, id)
            .await?;
        let review = self
            .get_review(tenant, id)
            .await?
            .map(|(r, _)| r)
            .unwrap_or(Review {
                status: ReviewStatus::Draft,
                notes: Vec::new(),
                reviewed_by: None,
                signed_off_by: None,
                signed_off_at: None,
                content_sha256: None,
            });
        if self.require_sign_off
            && principal.role == Role::Client
            && review.status != ReviewStatus::SignedOff
        {
            let e = Error::AccessDenied {
                reason: "this analysis and its review notes await a CPA's sign-off".into(),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        Ok(review)
    }

    /// A CPA of the firm annotates, marks reviewed, or signs off an analysis (audited). Anyone else is denied.
    pub async fn act_on_review(
        &self,
        principal: &Principal,
        tenant: &str,
        id: &str,
        action: ReviewAction,
    ) -> Result<Review> {
        if principal.role != Role::Cpa || principal.tenant != tenant {
            let e = Error::AccessDenied {
                reason: "only a CPA of the firm may review or sign off an analysis".into(),
            };
            return Err(self.deny(principal, tenant, Some(id), e).await);
        }
        let row = self
            .store
            .get_record(ANALYSIS, tenant, id)
            .await?
            .ok_or_else(|| {
                Error::invalid_argument("id", format!("no analysis `{id}` in tenant `{tenant}`"))
            })?;
        let mut review = self.review(principal, tenant, id).await?;
        let what = match &action {
            ReviewAction::Annotate(text) => {
                if text.trim().is_empty() {
                    return Err(Error::invalid_argument("note", "must not be empty"));
                }
                review.notes.push(ReviewNote {
                    by: principal.clone(),
                    at: now(),
                    text: text.clone(),
                });
                "annotated"
            }
            ReviewAction::MarkReviewed => {
                if review.status == ReviewStatus::Draft {
                    review.status = ReviewStatus::Reviewed;
                }
                review.reviewed_by = Some(principal.clone());
                "reviewed"
            }
            ReviewAction::SignOff => {
                let plain = self.open_row(&row).await?;
                review.content_sha256 = Some(super::analyses::content_sha256(&plain));
                review.status = ReviewStatus::SignedOff;
                review.signed_off_by = Some(principal.clone());
                review.signed_off_at = Some(now());
                "signed_off"
            }
        };
        self.put_review(tenant, id, &row.client_tag, &review)
            .await?;
        self.record(
            tenant,
            Some(principal),
            "review",
            Some(id),
            serde_json::json!({"action": what, "status": review.status, "content_sha256": review.content_sha256}),
        )
        .await?;
        Ok(review)
    }

    pub(super) async fn signed_off(&self, tenant: &str, id: &str) -> Result<bool> {
        Ok(self
            .get_review(tenant, id)
            .await?
            .is_some_and(|(r, _)| r.status == ReviewStatus::SignedOff))
    }
}

//! Settlement, run by the outbox after a decision or an expiry, exactly once in effect:
//! every transfer is keyed (`mission:{id}:payout`, `mission:{id}:refund:{account}`), so a
//! retried or crashed handler repeats nothing; the result emails are enqueued in the same
//! transaction that sets `settled`, one per person (deduplicated by key), next to one
//! `mission.mission_settled` event per contributor (their refund, for notifications).

use crate::error::MissionError;
use crate::repo::{self, MissionStatus, TERMINAL_STATUSES};
use crate::service::{Missions, escrow};
use async_trait::async_trait;
use contracts::common::points;
use contracts::events::MissionSettled;
use contracts::wallet::{EntryKind, TransferRequest, WalletRef};
use futures::{StreamExt, TryStreamExt};
use platform::mailer::{Email, MAIL_TOPIC};
use platform::outbox::{OutboxHandler, OutboxMessage};
use std::collections::HashMap;
use std::sync::Arc;

/// Refund transfers in flight at once (they all debit the same escrow row).
const REFUND_CONCURRENCY: usize = 4;

pub struct Settlement {
    missions: Arc<Missions>,
}

impl Settlement {
    pub fn new(missions: Arc<Missions>) -> Self {
        Settlement { missions }
    }
}

#[async_trait]
impl OutboxHandler for Settlement {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let id = message.payload["mission_id"].as_i64().ok_or_else(|| anyhow::anyhow!("payload without mission_id"))?;
        self.missions.settle(id).await.map_err(|e| anyhow::anyhow!("settling mission {id}: {e}"))
    }
}

fn verdict(status: MissionStatus) -> &'static str {
    match status {
        MissionStatus::Succeeded => "succeeded",
        MissionStatus::Failed => "failed",
        MissionStatus::Rejected => "was rejected by the streamer",
        _ => "expired before a decision",
    }
}

impl Missions {
    pub async fn settle(&self, id: i64) -> Result<(), MissionError> {
        let mission = self.settle_db().run(move |conn| repo::find(conn, id)).await?.ok_or(MissionError::NotFound)?;
        if mission.settled {
            return Ok(());
        }
        if !TERMINAL_STATUSES.contains(&mission.status) {
            return Err(MissionError::Internal(anyhow::anyhow!(
                "mission {id} is {} and cannot settle",
                mission.status
            )));
        }
        // Contributions still in flight are completed or fenced first, so the totals below
        // are final and nothing can reach the escrow afterwards.
        for c in self.settle_db().run(move |conn| repo::pending_contributions_of(conn, id)).await? {
            self.resolve_contribution(c.id).await?;
        }
        let totals = self.settle_db().run(move |conn| repo::totals_by_account(conn, id)).await?;
        let pool: i64 = totals.values().sum();
        let wallets = self.wallets().clone();
        if mission.status == MissionStatus::Succeeded {
            if pool > 0 {
                wallets
                    .transfer(TransferRequest {
                        from: escrow(id),
                        to: WalletRef::Account(mission.streamer_id),
                        amount: pool,
                        kind: EntryKind::MissionPayout,
                        reference: format!("mission:{id}"),
                        idempotency_key: format!("mission:{id}:payout"),
                    })
                    .await?;
            }
        } else {
            futures::stream::iter(totals.clone())
                .map(|(account, amount)| {
                    let wallets = wallets.clone();
                    async move {
                        wallets
                            .transfer(TransferRequest {
                                from: escrow(id),
                                to: WalletRef::Account(account),
                                amount,
                                kind: EntryKind::MissionRefund,
                                reference: format!("mission:{id}"),
                                idempotency_key: format!("mission:{id}:refund:{account}"),
                            })
                            .await
                    }
                })
                .buffer_unordered(REFUND_CONCURRENCY)
                .try_collect::<Vec<_>>()
                .await?;
        }
        let mut ids: Vec<i64> = totals.keys().copied().collect();
        if mission.status == MissionStatus::Succeeded {
            ids.push(mission.streamer_id);
        }
        let contacts: HashMap<i64, (String, String)> =
            self.accounts().contacts(&ids).await?.into_iter().map(|c| (c.id, (c.name, c.email))).collect();
        let mut emails = Vec::new();
        let link = self.mission_url(id);
        for (account, amount) in &totals {
            let Some((name, email)) = contacts.get(account) else { continue };
            let outcome = if mission.status == MissionStatus::Succeeded {
                format!("Your {} went to the streamer with the rest of the {} pool.", points(*amount), points(pool))
            } else {
                format!("Your {} were refunded to your wallet.", points(*amount))
            };
            emails.push((
                format!("mission:{id}:email:{account}"),
                Email {
                    to: email.clone(),
                    subject: format!("Mission “{}” {}", mission.title, verdict(mission.status)),
                    text: format!(
                        "Hello {name},\n\nthe mission “{}” {}.\n\n{outcome}\n\nSee the mission: {link}\n",
                        mission.title,
                        verdict(mission.status)
                    ),
                },
            ));
        }
        if mission.status == MissionStatus::Succeeded
            && let Some((name, email)) = contacts.get(&mission.streamer_id)
        {
            emails.push((
                format!("mission:{id}:email:streamer"),
                Email {
                    to: email.clone(),
                    subject: format!("Mission “{}” succeeded", mission.title),
                    text: format!(
                        "Hello {name},\n\nyou completed the mission “{}”: {} were paid to your wallet.\n\nSee the mission: {link}\n",
                        mission.title,
                        points(pool)
                    ),
                },
            ));
        }
        let settled_events: Vec<MissionSettled> = totals
            .iter()
            .map(|(account, amount)| MissionSettled {
                mission_id: id,
                account_id: *account,
                streamer_id: mission.streamer_id,
                title: mission.title.clone(),
                status: mission.status.as_str().into(),
                contributed: *amount,
                refunded: if mission.status == MissionStatus::Succeeded { 0 } else { *amount },
                pool,
            })
            .collect();
        let now = self.clock().now();
        let outbox = self.outbox().clone();
        let settled_now = self
            .db()
            .tx(move |conn| {
                if !repo::mark_settled(conn, id)? {
                    return Ok(false);
                }
                for (key, email) in &emails {
                    outbox.enqueue(conn, now, MAIL_TOPIC, email, Some(key))?;
                }
                for event in &settled_events {
                    outbox.publish(conn, now, event)?;
                }
                Ok::<_, MissionError>(true)
            })
            .await?;
        if settled_now {
            self.outbox().wake();
            metrics::counter!("missions_settled_total", "outcome" => mission.status.as_str()).increment(1);
            tracing::info!(mission_id = id, outcome = %mission.status, pool, contributors = totals.len(), "mission settled");
        }
        Ok(())
    }
}

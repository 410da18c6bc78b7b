//! PURE: what an update's answer says the target kept. Zoom may answer 200 and keep the
//! old value (a userName on a managed domain, a displayName it ignores): recorded once and
//! warned, not re-sent every cycle nor taken for drift (`reconcile::as_asked`).

use crate::model::attribute::Returned;
use crate::model::{Change, Field, Fields, KnownUser, RemoteUser, ScimUser};

/// Records in `known` and `pushed` what the target's answer to `sent` shows it kept, and
/// returns the warning for the outcome, if any.
pub fn check_answer(
    known: &mut KnownUser,
    pushed: &mut ScimUser,
    want: &ScimUser,
    sent: &[Change],
    remote: &RemoteUser,
) -> Option<String> {
    // Only a PUT that asked for a new userName can have been refused one.
    let rename =
        sent.iter().any(|c| c.field == Field::UserName).then(|| check_rename(known, pushed, want, remote)).flatten();
    let kept = not_kept(sent, &remote.user);
    known.not_kept = record_not_kept(&known.not_kept, sent, &kept);
    for k in &kept {
        pushed.fields.insert(k.field, k.kept.clone());
    }
    kept_warning(rename, &kept)
}

/// Zoom may answer 200 to a userName change and keep the old one (managed domains): record
/// what it kept and warn once, rather than retrying every cycle or creating a second user.
pub fn check_rename(
    known: &mut KnownUser,
    pushed: &mut ScimUser,
    want: &ScimUser,
    remote: &RemoteUser,
) -> Option<String> {
    let asked = want.user_name();
    let kept = remote.user.get(Field::UserName)?;
    if kept.eq_ignore_ascii_case(asked) {
        known.rename_refused = None;
        return None;
    }
    known.rename_refused = Some(asked.to_string());
    pushed.fields.insert(Field::UserName, kept.to_string());
    Some(format!(
        "the target kept userName {kept} instead of {asked}; rename it in Zoom (managed domain?) — not retried"
    ))
}

/// A value the target answered differently from the one sent.
#[derive(Debug, PartialEq, Eq)]
struct NotKept {
    field: Field,
    asked: String,
    kept: String,
}

/// The changed values (userName aside: `check_rename`) the target's answer shows it did not
/// keep. Only attributes the target returns, and returned in this answer, can tell; a
/// case-only difference where the target folds case is the same value.
fn not_kept(sent: &[Change], answer: &ScimUser) -> Vec<NotKept> {
    sent.iter()
        .filter(|c| c.field != Field::UserName && c.field.def().returned == Returned::Yes)
        .filter_map(|c| {
            let asked = c.new.as_deref()?;
            let kept = answer.get(c.field)?;
            (!c.field.same(asked, kept)).then(|| NotKept {
                field: c.field,
                asked: asked.to_string(),
                kept: kept.to_string(),
            })
        })
        .collect()
}

/// The user's not-kept record after an update: fields sent again drop out, those kept
/// differently this time are (re)recorded.
fn record_not_kept(before: &Fields, sent: &[Change], kept: &[NotKept]) -> Fields {
    before
        .iter()
        .filter(|(f, _)| !sent.iter().any(|c| c.field == *f))
        .map(|(f, v)| (f, v.to_string()))
        .chain(kept.iter().map(|k| (k.field, k.asked.clone())))
        .collect()
}

/// One warning (history, plan output) naming every value the target did not keep.
fn kept_warning(rename: Option<String>, kept: &[NotKept]) -> Option<String> {
    let mut parts: Vec<String> = rename.into_iter().collect();
    parts.extend(kept.iter().map(|k| {
        format!(
            "the target kept {} {:?} instead of {:?}; not re-sent while the directory asks for it",
            k.field.config_name(),
            k.kept,
            k.asked
        )
    }));
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(field: Field, old: Option<&str>, new: Option<&str>) -> Change {
        Change { field, old: old.map(String::from), new: new.map(String::from) }
    }

    fn answer(pairs: &[(Field, &str)]) -> ScimUser {
        ScimUser { fields: pairs.iter().map(|(f, v)| (*f, *v)).collect(), active: true, ..Default::default() }
    }

    #[test]
    fn what_the_answer_shows_the_target_did_not_keep() {
        let site = Field::from_config_name("zoomPhoneSite").unwrap();
        let sent = [
            change(Field::DisplayName, Some("Old"), Some("New")),
            change(Field::Title, None, Some("Eng")),
            change(Field::WorkEmail, None, Some("Mix.Case@x.org")),
            change(Field::Department, Some("R&D"), None),
            change(site, None, Some("London")),
            change(Field::WorkPhone, None, Some("+1")),
        ];
        // displayName kept old; title kept; e-mail lower-cased (folded: same); department
        // cleared; the site never returned; the phone not in this answer.
        let got = answer(&[(Field::DisplayName, "Old"), (Field::Title, "Eng"), (Field::WorkEmail, "mix.case@x.org")]);
        let kept = not_kept(&sent, &got);
        assert_eq!(kept, [NotKept { field: Field::DisplayName, asked: "New".into(), kept: "Old".into() }]);
        let before: Fields = [(Field::Title, "Manager"), (Field::FamilyName, "Lee")].into_iter().collect();
        let after = record_not_kept(&before, &sent, &kept);
        assert_eq!(after.iter().collect::<Vec<_>>(), [(Field::FamilyName, "Lee"), (Field::DisplayName, "New")]);
        let warning = kept_warning(None, &kept).unwrap();
        assert!(warning.contains("kept displayName \"Old\" instead of \"New\""), "{warning}");
        assert_eq!(kept_warning(None, &[]), None);
    }
}

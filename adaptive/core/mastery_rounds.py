"""Pure: check rounds, the sequential tests that decide whether a skill is met.

A round is a sequential probability ratio test on a skill's check answers at its
target since the last teaching (``MasteryConfig`` holds the bars); a re-check of a
pass that still stands (nothing but its refresher since) uses the lower maintenance
bar. The decided rounds are also the skill's FSRS reviews (``refresh_cards``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from adaptive.core.catalogue import Catalog, SkillContent
from adaptive.core.refresh_cards import Review


@dataclass(frozen=True)
class MasteryConfig:
    """The loop's thresholds; one set of defaults for every population.

    A check round is a sequential probability ratio test on the answers at or above
    the target since the last teaching: "at target" answers right with ``p_known``,
    "just below" with ``p_unknown`` (guessing included); a round passes when the odds
    for "at target" reach ``(1 - beta) / alpha`` and fails when they fall to
    ``beta / (1 - alpha)``, or after ``max_round_answers`` undecided answers. A
    re-check of a pass that still stands uses ``maintenance_alpha`` and
    ``maintenance_beta`` instead.
    """

    p_known: float = 0.75
    #: Half right: a learner whose proficiency is continuous answers a check just
    #: below its level about half right (0.51 at a quarter level below, 0.63 at the
    #: level, on the bench's misspecified learners), so the test's indifference point
    #: (about 0.62) sits at the target, not a quarter level under it as with 0.4
    #: (where a third of the false "done" came from). A learner with discrete levels
    #: answers far apart (0.18 / 0.87) and only needs a few more answers.
    p_unknown: float = 0.5
    #: P(pass | just below the target): the false "met" rate of one round.
    alpha: float = 0.03
    #: P(fail | at target): a needless extra pass.
    beta: float = 0.2
    max_round_answers: int = 12
    #: A first round still undecided after ``max_round_answers`` answers is not
    #: failed at once: one teaching activity of the checked level (the top-up), then
    #: the same test goes on with its evidence kept, this many times. Continuing one
    #: sequential test keeps Wald's bound on a false "met"; failing and starting
    #: afresh gave a learner just below the target a new chance every round, and
    #: sent a learner hovering at it through a whole re-teaching pass.
    round_extensions: int = 2
    #: A role skill's first round whose answers so far favour "at target" by more
    #: than this log-likelihood ratio (four right of four; three of three) goes on
    #: only once nothing else is left to learn: the skills the learner lacks are
    #: taught first. The bar is the same, but a waiting pass may rest on answers
    #: from days before. About a third of an expert's minutes before the targets
    #: were checks of skills they had, while the skills they lacked waited.
    defer_llr: float = 1.0
    #: Of the first this many role skills ready to work on (their prerequisites
    #: resolved), the one with the lowest P(at target) is worked on first; the
    #: skill of the last attempt goes on until it is met or waits. The gaps come
    #: before checks of what the learner probably has (1: prerequisite order only).
    weakest_of: int = 6
    done_confidence: float = 0.8
    assess_first: float = 0.5
    #: A skill never worked on is checked first unless the model puts it below this
    #: (a learner who has failed such checks has a low ability, so it stops).
    assess_floor: float = 0.02
    known_level: float = 0.8
    max_checks_in_row: int = 2
    #: Answers at or above the target, since the last teaching, that "met" needs.
    min_answers: int = 3
    #: Failed rounds after the re-teaching passes have reached the lowest level.
    #: A slow learner keeps learning from repeats (less each time, never nothing),
    #: so "needs a person" comes late: at 4 and 4 a fifth of the novices were
    #: blocked whom more teaching would have brought to the target, and at 10 still
    #: one in ten (180 ``bkt`` novices: reach 0.84 at 10, 0.91 at 16, with the same
    #: false "done"; the misspecified learners did not move). A failing milestone
    #: level below the target is also tried this many times.
    max_failed_checks: int = 16
    #: "Blocked" also needs every teaching activity of the checked level (and the
    #: stretch level) taken this many times: teaching is exhausted first.
    max_repeats: int = 8
    #: Failed rounds after which a new teaching pass also takes the level above.
    stretch_after: int = 2
    #: Failed rounds after which the skill's prerequisites are also worked on at the
    #: level just below its check (a weak foundation slows learning above it).
    support_after: int = 2
    #: A re-check of a standing pass (nothing but its refresher since) is judged
    #: against a maintenance bar: it passes at odds
    #: ``(1 - maintenance_beta) / maintenance_alpha`` and fails at
    #: ``maintenance_beta / (1 - maintenance_alpha)`` or after
    #: ``maintenance_round_answers`` undecided answers, so a learner who has kept the
    #: skill is not re-taught for one unlucky answer.
    maintenance_alpha: float = 0.05
    maintenance_beta: float = 0.1
    maintenance_round_answers: int = 8
    #: A maintenance round passes only one right answer's worth of evidence beyond
    #: the bar above: a learner who forgot to just below the target must not keep
    #: the pass on a short lucky run.
    maintenance_extra_answers: int = 1
    #: A passed skill whose FSRS recall chance (its card: the pass, then every
    #: re-check as a review) fell below this, with teaching of other skills after
    #: the pass, is checked again before "targets met".
    final_retention: float = 0.9
    #: A skill that has passed this many rounds is no longer re-checked before
    #: "targets met" (only when its card is due): re-checks cannot loop for ever.
    max_final_passes: int = 3


@dataclass(frozen=True, slots=True)
class CheckPool:
    """The check activities a skill's target is verified with.

    ``own`` counts the distinct scored questions at the check level. Fewer than
    ``MasteryConfig.min_answers`` is a *thin* check: asking the same question again
    is not new evidence, so the pool takes in the checks of the level just above
    (a harder question is evidence at or above the target), each asked once per
    round, and a pass is reported with the confidence its answers give.
    """

    activities: tuple[int, ...]
    own: int
    questions: int
    thin: bool
    #: Activity id -> 0 at the check level, 1, 2, ... for each level above.
    rank: dict[int, int] = field(default_factory=dict)


def check_pool(
    content: SkillContent,
    n_items: dict[int, int],
    skill: int,
    level: int,
    cfg: MasteryConfig,
) -> CheckPool:
    """The pool of ``skill``'s checks at ``level`` (and above it when thin)."""
    by_level = content.checks.get(skill, {})
    own = tuple(by_level.get(level, ()))
    own_questions = sum(n_items[a] for a in own)
    thin = own_questions < cfg.min_answers
    # Only the level just above: a learner at the target is expected to fail
    # questions two levels up, so they would say nothing about this one.
    levels = [lv for lv in (level, level + 1) if lv in by_level] if thin else [level]
    rank = {a: i for i, lv in enumerate(levels) for a in by_level[lv]}
    return CheckPool(
        activities=tuple(rank),
        own=own_questions,
        questions=sum(n_items[a] for a in rank),
        thin=thin,
        rank=rank,
    )


def pooled_pass(rounds: Rounds, cfg: MasteryConfig) -> bool:
    """The failed rounds' answers together reach a round's bar for "at target".

    A learner who hovers just at the target answers between the round's two
    hypotheses, so round after round ends undecided and fails; pooled over rounds
    the answers tell. By Wald's bound the chance that a learner just below the target
    (``p_unknown``) ever reaches the bar is still at most ``alpha / (1 - beta)``,
    and teaching between the rounds can only have raised the learner.
    """
    return rounds.failed_llr >= math.log((1.0 - cfg.beta) / cfg.alpha)


def thin_confidence(llr: float) -> float:
    """P(at target) after a thin round, from even odds: what its answers support."""
    return 1.0 / (1.0 + math.exp(-llr))


@dataclass(frozen=True, slots=True)
class SkillEvent:
    """One attempt on a skill (its main skill), as the loop reads it."""

    at: dt.datetime
    activity_id: int
    check: bool
    level: int
    score: float | None


@dataclass
class Rounds:
    """A skill's check answers grouped into rounds of at least ``min_answers`` answers."""

    since: int = 0  # event index after the last failed round
    failed: int = 0  # failed rounds since the last passed one
    last_failed: bool = False
    passed_at: dt.datetime | None = None  # a passed round with no teaching after it
    open_answers: int = 0  # answers of an undecided round
    rounds_since_teach: int = 0
    #: The last failed round was a maintenance round (a lapse, not a first failure).
    lapsed: bool = False
    #: A standing pass was refreshed (a refresher activity) and awaits its re-check.
    refreshed: bool = False
    #: Passed rounds so far (first passes and re-checks alike).
    passes: int = 0
    #: Every decided round at the target, in order: the skill's FSRS reviews.
    reviews: list[Review] = field(default_factory=list)
    #: The last failed round put the learner near the checked level, not far below
    #: it: it ran out of answers undecided, or its share of right answers was at
    #: least ``p_unknown`` (what a learner just below the level answers).
    borderline: bool = False
    #: The check activities answered in the open round (a thin check asks each once).
    round_seen: frozenset[int] = frozenset()
    #: The stated confidence of the standing pass: ``1 - alpha`` (the round's bar),
    #: or for a thin check the posterior its answers give (``thin_confidence``).
    confidence: float = 0.0
    #: The standing pass was kept by a re-check that ran out of answers undecided:
    #: one teaching activity of the checked level is due (the top-up), after which
    #: the pass stands again without another check.
    top_up: bool = False
    #: The log-likelihood ratio of every failed first round since the last pass (or
    #: lapse) together: teaching between them only raises the learner, so their
    #: answers pooled are evidence against "just below" (``pooled_pass``).
    failed_llr: float = 0.0
    #: The open first round ran out of answers undecided: its top-up (one teaching
    #: activity) is due, after which the round goes on with its answers kept.
    extend: bool = False
    #: The log-likelihood ratio of the open round's answers so far.
    open_llr: float = 0.0
    #: The open round is a re-check of a standing pass (the maintenance bar).
    open_upkeep: bool = False


def check_rounds(
    catalog: Catalog,
    events: Sequence[SkillEvent],
    target: int,
    cfg: MasteryConfig,
    *,
    milestone: bool = False,
    pool: CheckPool | None = None,
) -> Rounds:
    """Check rounds at ``target`` (or above); a ``milestone`` counts only checks at
    exactly that level and is reset only by teaching at or below it.

    With a thin ``pool`` a round counts each of its activities once (a repeat is
    not new evidence) and is decided once all were answered: it passes when the
    answers at the check level are all right and all its answers favour "at
    target" (log-likelihood ratio above 0).
    """
    out = Rounds()
    thin = pool is not None and pool.thin and not milestone
    members = frozenset(pool.activities) if pool is not None and thin else frozenset()
    least = min(cfg.min_answers, pool.questions) if pool is not None and thin else 0
    seen: set[int] = set()
    own_wrong = 0
    up = math.log(cfg.p_known / cfg.p_unknown)
    down = math.log((1.0 - cfg.p_known) / (1.0 - cfg.p_unknown))
    first = (
        math.log((1.0 - cfg.beta) / cfg.alpha),
        math.log(cfg.beta / (1.0 - cfg.alpha)),
        cfg.max_round_answers,
    )
    upkeep = (
        math.log((1.0 - cfg.maintenance_beta) / cfg.maintenance_alpha)
        + cfg.maintenance_extra_answers * up,
        math.log(cfg.maintenance_beta / (1.0 - cfg.maintenance_alpha)),
        cfg.maintenance_round_answers,
    )
    answers, rights, llr = 0, 0, 0.0
    # Answers since the round started or was last extended, and its extensions.
    chunk, extensions = 0, 0
    taught = False
    # A pass stands until a failed round or teaching other than a refresher.
    standing = False
    for i, e in enumerate(events):
        if not e.check and milestone and e.level > target:
            continue
        if not e.check and out.top_up and standing:
            # The top-up after an undecided re-check: the pass stands.
            out.top_up = False
            taught = True
            continue
        if not e.check and out.extend:
            # The top-up of an undecided round: the round goes on, answers kept.
            out.extend = False
            chunk = 0
            seen.clear()
            taught = True
            continue
        if not e.check:
            answers, rights, llr = 0, 0, 0.0
            chunk, extensions = 0, 0
            seen.clear()
            own_wrong = 0
            out.round_seen = frozenset()
            out.passed_at = None
            out.open_answers = 0
            out.open_llr = 0.0
            out.rounds_since_teach = 0
            taught = True
            refresher = catalog.activities[e.activity_id].kind == "refresher"
            standing = standing and refresher and not milestone
            out.refreshed = standing
            continue
        if e.level < target or (milestone and e.level != target):
            continue
        if thin and (e.activity_id in seen or e.activity_id not in members):
            continue  # the same question again is not new evidence
        if out.extend:
            chunk, out.extend = 0, False  # no top-up was there to take
        seen.add(e.activity_id)
        out.round_seen = frozenset(seen)
        n = max(catalog.activities[e.activity_id].n_items, 1)
        right = round(n * min(max(e.score or 0.0, 0.0), 1.0))
        answers += n
        chunk += n
        rights += right
        if e.level == target:
            own_wrong += n - right
        llr += right * up + (n - right) * down
        out.open_answers = answers
        out.open_llr = llr
        out.open_upkeep = standing and not milestone
        exhausted = thin and seen >= members
        if answers < (least if thin else cfg.min_answers) and not exhausted:
            continue
        # A standing pass is re-checked against the maintenance bar.
        maintenance = standing and not milestone
        accept, reject, most = upkeep if maintenance else first
        out.refreshed = False
        # A thin round passes when every answer at the check level was right and all
        # its answers together favour "at target" over "just below" (odds above
        # even): the harder questions above the level may fall short of p_known.
        thin_pass = exhausted and own_wrong == 0 and llr > 0.0
        # A re-check that runs out of answers undecided keeps the pass: the burden
        # of proof is on the lapse. A learner hovering just at the target would
        # otherwise lapse, be re-taught and re-checked in a loop that never ends.
        # Kept only if the answers at least favour "at target" (odds above even):
        # a learner who forgot answers like one just below and must lapse.
        kept = maintenance and chunk >= most and 0.0 <= llr < accept
        undecided = reject < llr < accept and not thin_pass
        if (
            undecided
            and not maintenance
            and not thin
            and not milestone
            and chunk >= most
            and extensions < cfg.round_extensions
        ):
            out.extend = True
            extensions += 1
            continue
        if kept or llr >= accept or thin_pass:
            out.passed_at = e.at
            # A kept pass owes its top-up and keeps the confidence it had.
            out.top_up = kept
            if not kept:
                out.confidence = (
                    thin_confidence(llr)
                    if thin and llr < accept
                    else 1.0 - (cfg.maintenance_alpha if maintenance else cfg.alpha)
                )
            out.passes += 1
            out.failed_llr = 0.0
            standing = True
            out.last_failed = False
            out.lapsed = False
            # Failures before a pass are not "no progress": blocking counts anew.
            out.failed = 0
            out.borderline = False
            out.reviews.append(Review(e.at, passed=True, taught=taught))
        elif llr <= reject or chunk >= most or exhausted:
            out.failed += 1
            out.failed_llr = 0.0 if maintenance else out.failed_llr + llr
            out.last_failed = True
            out.lapsed = maintenance
            out.borderline = llr > reject or rights >= cfg.p_unknown * answers
            standing = False
            out.top_up = False
            out.since = i + 1
            out.passed_at = None
            out.reviews.append(Review(e.at, passed=False, taught=taught))
        else:
            continue
        out.rounds_since_teach += 1
        answers, rights, llr = 0, 0, 0.0
        chunk, extensions = 0, 0
        seen.clear()
        own_wrong = 0
        out.round_seen = frozenset()
        out.open_answers = 0
        out.open_llr = 0.0
        out.open_upkeep = False
    return out

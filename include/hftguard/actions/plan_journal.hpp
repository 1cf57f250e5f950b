#pragma once
// A plan's progress, kept on disk while it runs: one small file per component beside the
// component's lock. Written when the plan starts and after each step it passes, removed when
// the plan ends (completed or failed). A journal that outlives its plan (kill -9, OOM, power
// loss) is how the next start-up learns that a plan was interrupted, after which step, and
// with which context, so that it is resumed after that step and never run again from the top.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace hftguard::actions {

struct PlanJournal {
  std::string component;
  std::string plan;
  std::string trigger;  // the id of the event that asked for the run
  std::string old_primary;
  std::string new_primary;
  std::string fencing_token;
  std::string reason;
  std::string started;         // RFC 3339, when the plan started
  std::size_t steps_done = 0;  // steps passed; the next one to run is steps_done + 1 (1-based)
  std::string last_step;       // the name of the last step passed, "" before the first
  long pid = 0;                // the process that ran it
  std::string node = {};       // the node (daemon) that ran it
  // What earlier steps proved or the trigger said, which later steps rely on: a fence that
  // failed still blocks a promotion after --resume; a followed switch is not asked for again.
  bool old_primary_fenced = false;
  bool fence_failed = false;
  std::string self_fenced = {};  // PlanContext::self_fenced: kept for a leader taking it up
  bool switched = false;
  // Roles tracked: the epoch the failover establishes and the members' values it filled in.
  // A resumed plan moves the roles only if they are still at epoch - 1.
  std::uint64_t epoch = 0;
  std::map<std::string, std::string> members = {};
  // "STEP: why" once a step failed for good: the plan failed and is never resumed.
  std::string failed = {};
  // RFC 3339, the outage's first failed sample (the RTO's start); "" when the run had none.
  std::string first_failure = {};
  // Where it is kept in etcd (`coordination: etcd`): the key's mod_revision when it was read.
  // Not part of the text.
  std::int64_t revision = 0;
};

// The journal as one line of JSON, and back (nullopt with why when it is not a journal).
std::string journalText(const PlanJournal& j);
std::optional<PlanJournal> parseJournal(const std::string& text, const std::string& component,
                                        std::string* error);

// `<lock_dir>/<component>.plan.json`
std::string journalPath(const std::string& lock_dir, const std::string& component);

// Replaces the component's journal atomically and durably: a unique temporary file (mode
// 0600), fsync, rename, fsync of the directory. False with why on failure.
// `durable` false: atomically but without waiting for the disk (it survives the process
// being killed at once, a power cut only after syncJournal).
bool writeJournal(const std::string& lock_dir, const PlanJournal& j, std::string* error = nullptr,
                  bool durable = true);
bool syncJournal(const std::string& lock_dir, const std::string& component,
                 std::string* error = nullptr);

// The component's journal; nullopt when there is none (or, with `error` set, when it cannot
// be read or parsed).
std::optional<PlanJournal> readJournal(const std::string& lock_dir, const std::string& component,
                                       std::string* error = nullptr);

// Whether the component has a journal, readable or not: an unreadable one still stands for
// a plan that never finished.
bool journalThere(const std::string& lock_dir, const std::string& component);

// Removes it (durably: the directory is fsync'd); an absent journal is fine.
bool removeJournal(const std::string& lock_dir, const std::string& component,
                   std::string* error = nullptr);

}  // namespace hftguard::actions

#pragma once
// Files hftguard replaces while others read them (the maintenance file, plan journals):
// written whole or not at all, and still there after a power cut.

#include <string>

#include <sys/types.h>

namespace hftguard {

// Replaces `path` with `text`: a temporary file of its own (two writers never share one),
// `mode`, in the directory's group when `directory_group`, fsync'd, renamed over `path`, and
// the directory fsync'd. A reader sees the old file or the new one. False with why on failure.
bool replaceFileDurably(const std::string& path, const std::string& text, mode_t mode,
                        bool directory_group, std::string* error = nullptr);

// The same replacement without waiting for the disk: every process sees the new file at once
// (it survives this process being killed), a power cut may still leave the old one until
// syncReplacedFile(path) has returned.
bool replaceFileVisibly(const std::string& path, const std::string& text, mode_t mode,
                        bool directory_group, std::string* error = nullptr);
// Makes a replacement by replaceFileVisibly durable: fsyncs the file and its directory.
bool syncReplacedFile(const std::string& path, std::string* error = nullptr);

// fsyncs a directory: a rename or an unlink in it is durable only then.
bool syncDirectory(const std::string& dir, std::string* error = nullptr);

}  // namespace hftguard

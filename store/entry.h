/* entry.h: one directory entry as the scanner finds it and the store keeps it. */
#ifndef LEINDEX_ENTRY_H
#define LEINDEX_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/** What an entry is, from d_type or the stat. */
enum entry_type {
	ENTRY_FILE = 0,
	ENTRY_DIR = 1,
	ENTRY_SYMLINK = 2,
	ENTRY_OTHER = 3,
};

/** Flags of `struct entry`. */
enum entry_flags {
	/** The stat fields are valid (an entry that could not be stat-ed keeps only its d_type). */
	ENTRY_HAS_STAT = 1u << 0,
	/** `sha256` holds the SHA-256 of the file's content. */
	ENTRY_HAS_HASH = 1u << 1,
};

/** What git says of an entry (the view git); 0: nothing (other views, directories). */
enum entry_git {
	ENTRY_GIT_NONE = 0,
	ENTRY_GIT_TRACKED,   /**< in the index, the work tree's copy unchanged */
	ENTRY_GIT_MODIFIED,  /**< in the index, the work tree's copy differs (git diff names it) */
	ENTRY_GIT_UNTRACKED, /**< not in the index, not ignored */
	ENTRY_GIT_REPO,      /**< a submodule or nested repository: one entry, not entered */
};
#define ENTRY_GIT_COUNT 5

/**
 * One entry. Pointers are borrowed: they stay valid as long as whoever filled the struct says
 * (the scanner's name arena; a store read transaction).
 */
struct entry {
	/** The entry's own name (not NUL-terminated), 1..255 bytes, never containing '/' or NUL. */
	const char *name;
	size_t name_len;
	enum entry_type type;
	/** enum entry_flags. */
	unsigned flags;
	/** st_mode & 07777. */
	uint32_t mode;
	uint32_t uid, gid;
	uint64_t size, ino, nlink;
	/** The device of the file system holding the entry (makedev of statx's); 0 in records
	 * written before the field existed. */
	uint64_t dev;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	/** Symlink target bytes (NULL and 0 when not a symlink or unreadable). */
	const char *target;
	size_t target_len;
	unsigned char sha256[32];
	/** enum entry_git. */
	uint8_t git;
};

/** "file", "dir", "symlink", "other". */
const char *entry_type_name(enum entry_type type);

/** "tracked", "modified", "untracked", "repo"; NULL for ENTRY_GIT_NONE. */
const char *entry_git_name(unsigned git);

/** Parses a name of entry_type_name(); returns 0 or -1. */
int entry_type_parse(const char *name, enum entry_type *out);

#endif

-- Rows written before shard sets existed belong to the first set, generation 0 (drizzle-kit's
-- copy named the new column in the old tables, where it does not exist).
CREATE TABLE `shard_sets` (
	`generation` integer PRIMARY KEY NOT NULL,
	`shard_count` integer NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`detail` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `shard_sets_state_idx` ON `shard_sets` (`state`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_shard_assignments` (
	`generation` integer DEFAULT 0 NOT NULL,
	`shard_id` integer NOT NULL,
	`node_id` text,
	`epoch` integer NOT NULL,
	`state` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`generation`, `shard_id`)
);
--> statement-breakpoint
INSERT INTO `__new_shard_assignments`("generation", "shard_id", "node_id", "epoch", "state", "updated_at") SELECT 0, "shard_id", "node_id", "epoch", "state", "updated_at" FROM `shard_assignments`;--> statement-breakpoint
DROP TABLE `shard_assignments`;--> statement-breakpoint
ALTER TABLE `__new_shard_assignments` RENAME TO `shard_assignments`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `shard_assignments_node_id_idx` ON `shard_assignments` (`node_id`);--> statement-breakpoint
CREATE TABLE `__new_shard_sessions` (
	`generation` integer DEFAULT 0 NOT NULL,
	`shard_id` integer NOT NULL,
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`resume_gateway_url` text NOT NULL,
	`shard_count` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`generation`, `shard_id`)
);
--> statement-breakpoint
INSERT INTO `__new_shard_sessions`("generation", "shard_id", "session_id", "seq", "resume_gateway_url", "shard_count", "updated_at") SELECT 0, "shard_id", "session_id", "seq", "resume_gateway_url", "shard_count", "updated_at" FROM `shard_sessions`;--> statement-breakpoint
DROP TABLE `shard_sessions`;--> statement-breakpoint
ALTER TABLE `__new_shard_sessions` RENAME TO `shard_sessions`;--> statement-breakpoint
ALTER TABLE `identify_ledger` ADD `generation` integer DEFAULT 0 NOT NULL;
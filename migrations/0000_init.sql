CREATE TABLE `channels` (
	`id` text PRIMARY KEY NOT NULL,
	`guild_id` text NOT NULL,
	`parent_id` text,
	`type` integer NOT NULL,
	`name` text,
	`position` integer,
	`is_thread` integer DEFAULT false NOT NULL,
	`raw` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `channels_guild_id_idx` ON `channels` (`guild_id`);--> statement-breakpoint
CREATE INDEX `channels_parent_id_idx` ON `channels` (`parent_id`);--> statement-breakpoint
CREATE TABLE `cluster_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`kind` text NOT NULL,
	`node_id` text,
	`shard_id` integer,
	`detail` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cluster_events_at_idx` ON `cluster_events` (`at`);--> statement-breakpoint
CREATE INDEX `cluster_events_shard_id_idx` ON `cluster_events` (`shard_id`);--> statement-breakpoint
CREATE TABLE `emojis` (
	`id` text PRIMARY KEY NOT NULL,
	`guild_id` text NOT NULL,
	`name` text,
	`animated` integer DEFAULT false NOT NULL,
	`raw` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `emojis_guild_id_idx` ON `emojis` (`guild_id`);--> statement-breakpoint
CREATE TABLE `guilds` (
	`id` text PRIMARY KEY NOT NULL,
	`shard_id` integer NOT NULL,
	`name` text,
	`owner_id` text,
	`member_count` integer,
	`unavailable` integer DEFAULT false NOT NULL,
	`joined_at` text,
	`updated_at` integer NOT NULL,
	`raw` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `guilds_shard_id_idx` ON `guilds` (`shard_id`);--> statement-breakpoint
CREATE TABLE `identify_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`started_at` integer NOT NULL,
	`shard_id` integer NOT NULL,
	`node_id` text NOT NULL,
	`bucket` integer NOT NULL,
	`limit_total` integer,
	`limit_remaining` integer,
	`limit_reset_at` integer
);
--> statement-breakpoint
CREATE INDEX `identify_ledger_started_at_idx` ON `identify_ledger` (`started_at`);--> statement-breakpoint
CREATE INDEX `identify_ledger_bucket_idx` ON `identify_ledger` (`bucket`,`started_at`);--> statement-breakpoint
CREATE TABLE `members` (
	`guild_id` text NOT NULL,
	`user_id` text NOT NULL,
	`nick` text,
	`joined_at` text,
	`roles` text DEFAULT '[]' NOT NULL,
	`raw` text NOT NULL,
	PRIMARY KEY(`guild_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `members_user_id_idx` ON `members` (`user_id`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`version` text NOT NULL,
	`started_at` integer NOT NULL,
	`last_heartbeat_at` integer NOT NULL,
	`draining` integer DEFAULT false NOT NULL,
	`capacity` integer,
	`meta` text DEFAULT '{}' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `presences` (
	`guild_id` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text,
	`activities` text DEFAULT '[]' NOT NULL,
	`raw` text NOT NULL,
	PRIMARY KEY(`guild_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `presences_user_id_idx` ON `presences` (`user_id`);--> statement-breakpoint
CREATE TABLE `roles` (
	`id` text PRIMARY KEY NOT NULL,
	`guild_id` text NOT NULL,
	`name` text NOT NULL,
	`position` integer NOT NULL,
	`permissions` text NOT NULL,
	`color` integer DEFAULT 0 NOT NULL,
	`raw` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `roles_guild_id_idx` ON `roles` (`guild_id`);--> statement-breakpoint
CREATE TABLE `shard_assignments` (
	`shard_id` integer PRIMARY KEY NOT NULL,
	`node_id` text,
	`epoch` integer NOT NULL,
	`state` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `shard_assignments_node_id_idx` ON `shard_assignments` (`node_id`);--> statement-breakpoint
CREATE TABLE `shard_sessions` (
	`shard_id` integer PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`resume_gateway_url` text NOT NULL,
	`shard_count` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text,
	`global_name` text,
	`bot` integer,
	`avatar` text,
	`raw` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `voice_states` (
	`guild_id` text NOT NULL,
	`user_id` text NOT NULL,
	`channel_id` text,
	`session_id` text,
	`raw` text NOT NULL,
	PRIMARY KEY(`guild_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `voice_states_channel_id_idx` ON `voice_states` (`channel_id`);
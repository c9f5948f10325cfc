CREATE TABLE `identities` (`id` CHAR(36) NOT NULL, `nid` CHAR(36) NOT NULL, `traits` JSON NOT NULL, PRIMARY KEY(`id`)) ENGINE=InnoDB;

-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
-- One database per service: a service owns its tables and no other service reads them.
CREATE DATABASE cvp_profile;
CREATE DATABASE cvp_scoring;
CREATE DATABASE cvp_engagement;
CREATE DATABASE cvp_feedback;

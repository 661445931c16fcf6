DROP TABLE outbox;
DROP TABLE invitation_teams;
DROP TABLE invitations;
DROP TABLE team_members;
DROP TABLE teams;

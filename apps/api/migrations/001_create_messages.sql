-- The guestbook: messages kept newest first; an optional idempotency key makes a retried POST write once.
CREATE TABLE messages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author text NOT NULL CHECK (char_length(author) BETWEEN 1 AND 64),
  text text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1000),
  created_at timestamptz NOT NULL DEFAULT now(),
  idempotency_key text UNIQUE CHECK (char_length(idempotency_key) BETWEEN 1 AND 128)
);

-- Serves the keyset pagination (created_at, id) < (...) ORDER BY created_at DESC, id DESC.
CREATE INDEX messages_newest_first ON messages (created_at DESC, id DESC);

-- Demo data for the local stack (`npm start`). Safe to run more than once.
insert into peakwatch.sources (name, kind, config, poll_interval_seconds, enabled)
values
  ('demo-calls', 'http_feed', '{"url": "http://127.0.0.1:54330/feed/calls", "cursor": "since_id"}', 60, false),
  ('dexscreener-profiles', 'dexscreener_profiles', '{}', 60, false),
  ('geckoterminal-trending-solana', 'geckoterminal_trending', '{"network": "solana"}', 300, false)
on conflict (name) do nothing;

insert into peakwatch.tokens (chain, address, symbol, name)
values
  ('solana', 'So11111111111111111111111111111111111111112', 'SOL', 'Wrapped SOL'),
  ('ethereum', '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2', 'WETH', 'Wrapped Ether')
on conflict (chain, address) do nothing;

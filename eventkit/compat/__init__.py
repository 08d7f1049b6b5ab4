"""Wire compatibility with existing analytics SDKs (Segment, PostHog, Amplitude,
Mixpanel): each vendor's messages decoded into drafts of canonical events, and that
vendor's answers built. No HTTP here: the routers are in :mod:`eventkit.api.vendors`.
See docs/integration_guide.md."""

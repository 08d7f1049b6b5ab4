"""Wire compatibility with existing analytics SDKs (Segment, PostHog, Amplitude,
Mixpanel): each vendor's protocol decoded into canonical events and answered in that
vendor's shapes. See docs/integration_guide.md."""

"""s3core: an S3-style social-network simulation engine (Gao et al. 2023) with action-guided engagement."""

__version__ = "0.1.0"

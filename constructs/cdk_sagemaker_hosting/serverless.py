"""Moved to :mod:`cdk_sagemaker_hosting.workflow`; kept until endpoint and monitoring import it."""

from cdk_sagemaker_hosting.workflow import *  # noqa: F403

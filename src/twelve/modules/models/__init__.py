"""The models module: model registry, deployments and provider adapters.

Other modules import only `twelve.modules.models.api`; the composition root builds the service
with `service.build_models_service` from the `models:` section of the configuration.
"""

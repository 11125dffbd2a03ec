"""Speech provider adapters (STT, TTS, realtime). The contracts they implement are in
:mod:`waav.providers.base`; the adapters themselves arrive package by package
(``waav.providers.stt``, ``.tts``, ``.realtime``) and register through the ``waav.plugins``
entry-point group, so the plugin registry never imports this package."""

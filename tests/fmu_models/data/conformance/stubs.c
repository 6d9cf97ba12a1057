/* API functions the conformance FMUs do not support: each returns Error (3).
 * Declared without prototypes on purpose (this file does not include the FMI headers);
 * they exist so that a loader that resolves every symbol (FMPy) can load the library. */
#if FMI_VERSION == 3
#define STUBS X(fmi3GetFMUState) X(fmi3SetFMUState) X(fmi3FreeFMUState) X(fmi3SerializedFMUStateSize) \
  X(fmi3SerializeFMUState) X(fmi3DeserializeFMUState) X(fmi3GetBinary) X(fmi3SetBinary) X(fmi3GetClock) \
  X(fmi3SetClock) X(fmi3GetNumberOfVariableDependencies) X(fmi3GetVariableDependencies) \
  X(fmi3GetDirectionalDerivative) X(fmi3GetAdjointDerivative) X(fmi3EnterConfigurationMode) \
  X(fmi3ExitConfigurationMode) X(fmi3GetIntervalDecimal) X(fmi3GetIntervalFraction) X(fmi3GetShiftDecimal) \
  X(fmi3GetShiftFraction) X(fmi3SetIntervalDecimal) X(fmi3SetIntervalFraction) X(fmi3SetShiftDecimal) \
  X(fmi3SetShiftFraction) X(fmi3EvaluateDiscreteStates) X(fmi3GetOutputDerivatives) X(fmi3ActivateModelPartition)
#else
#define STUBS X(fmi2GetBoolean) X(fmi2SetBoolean) X(fmi2GetString) X(fmi2SetString) X(fmi2GetFMUstate) X(fmi2SetFMUstate) X(fmi2FreeFMUstate) \
  X(fmi2SerializedFMUstateSize) X(fmi2SerializeFMUstate) X(fmi2DeSerializeFMUstate) \
  X(fmi2GetDirectionalDerivative) X(fmi2SetRealInputDerivatives) X(fmi2GetRealOutputDerivatives) \
  X(fmi2CancelStep) X(fmi2GetStatus) X(fmi2GetIntegerStatus) X(fmi2GetStringStatus)
#endif
#define X(name) int name() { return 3; }
STUBS

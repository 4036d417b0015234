package dev.gradclip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradclip.monitor.StepObservation;
import dev.gradclip.policy.ClipPolicy;
import dev.gradclip.policy.ParamGroups;
import dev.gradclip.policy.StepRecord;
import dev.gradclip.policy.TrainingClipper;
import java.lang.reflect.AnnotatedType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.NullMarked;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The exported packages say what may be null (JSpecify, read by reflection: both annotations are kept at
 * run time), and the API has no accidental public members.
 */
class ApiNullnessAndSurfaceTest {

    @Test
    void exportedPackagesAreNullMarked() throws Exception {
        for (String pkg : List.of("dev.gradclip", "dev.gradclip.policy", "dev.gradclip.monitor", "dev.gradclip.distributed")) {
            Class<?> info = Class.forName(pkg + ".package-info");
            assertTrue(info.isAnnotationPresent(NullMarked.class), pkg + " should be @NullMarked");
        }
    }

    private static boolean nullable(AnnotatedType t) {
        return t.isAnnotationPresent(Nullable.class);
    }

    @Test
    void nullableReturnsAreAnnotated() throws Exception {
        assertTrue(nullable(TrainingClipper.class.getMethod("policyState").getAnnotatedReturnType()), "policyState()");
        assertTrue(nullable(ParamGroups.Report.class.getMethod("report").getAnnotatedReturnType()), "Report.report()");
        assertTrue(nullable(ParamGroups.Report.class.getMethod("record").getAnnotatedReturnType()), "Report.record()");
        assertTrue(nullable(StepObservation.class.getMethod("file").getAnnotatedReturnType()), "StepObservation.file()");
        // and one that is never null stays unannotated
        assertTrue(!nullable(StepObservation.class.getMethod("tensorNorms").getAnnotatedReturnType()), "tensorNorms()");
    }

    @Test
    void nullableParametersAreAnnotated() throws Exception {
        assertTrue(nullable(StepRecord.class.getMethod("toJsonLine", String.class).getAnnotatedParameterTypes()[0]),
                "StepRecord.toJsonLine(file)");
        assertTrue(nullable(StepObservation.Builder.class.getMethod("file", String.class).getAnnotatedParameterTypes()[0]),
                "StepObservation.Builder.file(file)");
        Method two = StepObservation.class.getMethod("fromTwoPhase", long.class, NormPartials.class, ClipReport.class, double.class);
        assertTrue(nullable(two.getAnnotatedParameterTypes()[2]), "StepObservation.fromTwoPhase(applied)");
        assertTrue(!nullable(two.getAnnotatedParameterTypes()[1]), "StepObservation.fromTwoPhase(before)");
        // the record component (javac does not copy type annotations onto a compact constructor's parameters)
        var tensorNorms = StepRecord.class.getRecordComponents()[9];
        assertEquals("tensorNorms", tensorNorms.getName());
        assertTrue(nullable(tensorNorms.getAnnotatedType()), "StepRecord(..., tensorNorms)");
        var report = ParamGroups.Report.class.getDeclaredConstructor(String.class, ParamGroups.Rule.class, ClipReport.class,
                StepRecord.class);
        assertTrue(nullable(report.getAnnotatedParameterTypes()[2]) && nullable(report.getAnnotatedParameterTypes()[3]),
                "ParamGroups.Report(name, rule, report, record)");
    }

    @Test
    void clipPolicyExposesOnlyParse() {
        List<String> statics = new ArrayList<>();
        for (Method m : ClipPolicy.class.getDeclaredMethods()) {
            if (Modifier.isStatic(m.getModifiers()) && Modifier.isPublic(m.getModifiers())) statics.add(m.getName());
        }
        assertEquals(List.of("parse"), statics, "ClipPolicy's public static methods");
    }
}
